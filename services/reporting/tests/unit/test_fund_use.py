"""Fund-use flags in reports: open at the end of a day, loans once each, the period's raised and resolved."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from postloan_reporting.domain.fund_use import FUND_USE_RULES, FundFlag, fund_use_slice, fund_use_slices, is_open

DAY, START = date(2026, 3, 31), date(2026, 3, 1)


def _flag(rule: str, loan: str, raised: date, resolved: date | None = None, outstanding: str = "1000.00"):
    return FundFlag(rule, loan, "P1", "B1", raised, resolved, D(outstanding))


def test_a_flag_is_open_from_the_day_raised_until_the_day_resolved() -> None:
    flag = _flag("fund_untraced", "L1", date(2026, 3, 5), date(2026, 3, 20))
    assert not is_open(flag, date(2026, 3, 4))
    assert is_open(flag, date(2026, 3, 5)) and is_open(flag, date(2026, 3, 19))
    assert not is_open(flag, date(2026, 3, 20))
    assert is_open(_flag("fund_untraced", "L1", date(2026, 3, 5)), DAY)


def test_a_loan_with_two_open_flags_counts_once_with_its_outstanding() -> None:
    flags = [
        _flag("fund_forbidden_use", "L1", date(2026, 2, 10)),
        _flag("fund_flow_back", "L1", date(2026, 3, 5)),
        _flag("fund_untraced", "L2", date(2026, 3, 2), date(2026, 3, 20), outstanding="500.00"),
        _flag("fund_splitting", "L3", date(2026, 3, 3), outstanding="0"),
    ]
    total = fund_use_slice("all", flags, start=START, day=DAY)
    assert (total.open_flags, total.loans_flagged, total.outstanding_flagged) == (3, 2, D("1000.00"))
    assert (total.raised, total.resolved) == (3, 1)  # the February flag was raised before the period
    by_rule = fund_use_slices(flags, lambda f: f.rule_id, start=START, day=DAY, keys=FUND_USE_RULES)
    assert [s.key for s in by_rule] == list(FUND_USE_RULES)
    untraced = by_rule[2]
    assert (untraced.open_flags, untraced.loans_flagged, untraced.outstanding_flagged) == (0, 0, D("0.00"))


def test_every_rule_is_listed_even_without_flags() -> None:
    assert [
        (s.key, s.open_flags)
        for s in fund_use_slices([], lambda f: f.rule_id, start=START, day=DAY, keys=FUND_USE_RULES)
    ] == [(rule, 0) for rule in FUND_USE_RULES]
