"""The tuned early-warning rules of migration 0012 and hysteresis (`domain.alerts.resolving`), on cases."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from postloan_risk_alert.domain import rules
from postloan_risk_alert.domain.alerts import resolving

MIGRATION = Path(__file__).parents[2] / "migrations" / "versions" / "0012_tuned_early_warning.py"


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("migration_0012", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


M = _migration()


def _columns(rows: list[dict[str, float]]) -> dict[str, Any]:
    names = {k for r in rows for k in r}
    return {k: np.asarray([r.get(k, np.nan) for r in rows], dtype=np.float64) for k in names}


def _day(rule: dict[str, Any], rows: list[dict[str, float]]) -> tuple[list[bool], list[bool]]:
    """Whether the rule holds for each row, and whether an open alert of it would resolve."""
    columns, n = _columns(rows), len(rows)
    holds = rules.evaluate_columns(rule["condition"], columns, n)
    resolve = rule.get("resolve_condition")
    resolve_holds = None if resolve is None else rules.evaluate_columns(resolve, columns, n)
    return holds.tolist(), resolving(holds=holds, resolve_holds=resolve_holds).tolist()


def test_without_a_resolve_condition_an_alert_resolves_as_soon_as_its_condition_stops() -> None:
    holds = np.asarray([True, False, False])

    assert resolving(holds=holds, resolve_holds=None).tolist() == [False, True, True]


def test_with_a_resolve_condition_it_resolves_only_where_that_holds_and_the_condition_does_not() -> None:
    holds = np.asarray([True, True, False, False])
    resolve_holds = np.asarray([True, False, True, False])

    assert resolving(holds=holds, resolve_holds=resolve_holds).tolist() == [False, False, True, False]


def test_the_shipped_conditions_validate() -> None:
    for rule in (M.SCORE_JUMP, M.SCORE_JUMP_BEFORE, *M.NEW_RULES):
        assert rules.validate(rule["condition"], subject_type="loan") == []
        if rule["resolve_condition"] is not None:
            assert rules.validate(rule["resolve_condition"], subject_type="loan") == []


def test_score_jump_ignores_a_drop_at_a_low_pd_and_stays_open_until_the_pd_is_under_a_tenth() -> None:
    first_miss = {"score_drop": 107, "pd": 0.059}  # a new loan's first installment a day late
    into_e = {"score_drop": 60, "pd": 0.25}
    settled = {"score_drop": 0, "pd": 0.15}  # the drop is over, the PD still high
    cured = {"score_drop": -80, "pd": 0.04}

    holds, resolves = _day(M.SCORE_JUMP, [first_miss, into_e, settled, cured])

    assert holds == [False, True, False, False]
    assert resolves == [True, False, False, True]
    # The rule it replaced fired on the first miss and resolved the day after the drop.
    assert _day(M.SCORE_JUMP_BEFORE, [first_miss, settled]) == ([True, False], [False, True])


def test_first_payment_default_fires_at_20_dpd_with_nothing_paid_and_resolves_once_current() -> None:
    nothing_paid = {"dpd": 20, "paid_due_ratio": 0.0}
    too_early = {"dpd": 19, "paid_due_ratio": 0.0}
    paid_before = {"dpd": 25, "paid_due_ratio": 0.9}  # an earlier installment was paid
    token_payment = {"dpd": 40, "paid_due_ratio": 0.2}  # still in arrears: stays open
    current = {"dpd": 0, "paid_due_ratio": 1.0}

    holds, resolves = _day(M.FIRST_PAYMENT_DEFAULT, [nothing_paid, too_early, paid_before, token_payment, current])

    assert holds == [True, False, False, False, False]
    assert resolves == [False, False, False, False, True]


def test_repeat_miss_fires_at_20_dpd_after_an_earlier_miss_and_resolves_once_current() -> None:
    second_miss = {"dpd": 20, "missed_count": 2}
    first_miss = {"dpd": 25, "missed_count": 1}  # first-payment-default's case, not this rule's
    cured_below_20 = {"dpd": 12, "missed_count": 2}  # part paid, still in arrears: stays open
    current = {"dpd": 0, "missed_count": 2}

    holds, resolves = _day(M.REPEAT_MISS, [second_miss, first_miss, cured_below_20, current])

    assert holds == [True, False, False, False]
    assert resolves == [False, False, False, True]
