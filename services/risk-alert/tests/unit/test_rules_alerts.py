"""The rule language (validation with paths, evaluation) and the alert lifecycle (pure)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from postloan_risk_alert.domain import rules
from postloan_risk_alert.domain.alerts import TransitionError, next_status, within_window

CONDITION = {
    "all": [
        {"feature": "dpd", "op": ">", "value": 30},
        {
            "any": [
                {"feature": "grade", "op": "in", "value": ["D", "E"]},
                {"feature": "broken_promises", "op": ">=", "value": 2},
            ]
        },
    ]
}


def test_a_valid_condition_has_no_errors() -> None:
    assert rules.validate(CONDITION, subject_type="loan") == []


def test_validation_names_the_json_path_of_each_error() -> None:
    bad = {
        "all": [
            {"feature": "dpd", "op": "=>", "value": 30},
            {"any": [{"feature": "shoe_size", "op": ">", "value": 1}, {"feature": "grade", "op": ">", "value": "C"}]},
            {"feature": "dpd", "op": ">", "value": "thirty"},
            {"not": "dpd > 3"},
            {"feature": "grade", "op": "in", "value": []},
        ]
    }
    errors = {(e.path, e.message.split(" ")[0]) for e in rules.validate(bad, subject_type="loan")}
    paths = {path for path, _ in errors}
    assert paths == {
        "$.all[0].op",
        "$.all[1].any[0].feature",
        "$.all[1].any[1].op",
        "$.all[2].value",
        "$.all[3].not",
        "$.all[4].value",
    }


def test_validation_rejects_structure_errors() -> None:
    assert [e.path for e in rules.validate([], subject_type="loan")] == ["$"]
    assert [e.path for e in rules.validate({"all": []}, subject_type="loan")] == ["$.all"]
    assert [e.path for e in rules.validate({"feature": "dpd", "op": ">"}, subject_type="loan")] == ["$.value"]
    assert [e.path for e in rules.validate({"feature": "dpd", "op": ">", "value": 1}, subject_type="nobody")] == [
        "$.subject_type"
    ]
    # Customer rules only see customer features.
    assert [e.path for e in rules.validate({"feature": "dpd", "op": ">", "value": 1}, subject_type="customer")] == [
        "$.feature"
    ]
    deep: dict = {"feature": "dpd", "op": ">", "value": 1}
    for _ in range(12):
        deep = {"not": deep}
    assert rules.validate(deep, subject_type="loan")


@pytest.mark.parametrize(
    ("features", "expected"),
    [
        ({"dpd": 31, "grade": "D", "broken_promises": 0}, True),
        ({"dpd": 31, "grade": "B", "broken_promises": 2}, True),
        ({"dpd": 31, "grade": "B", "broken_promises": 1}, False),
        ({"dpd": 30, "grade": "E", "broken_promises": 5}, False),
        ({"dpd": None, "grade": "E"}, False),
        ({}, False),
    ],
)
def test_evaluation_over_a_feature_dict(features: dict, expected: bool) -> None:
    assert rules.evaluate(CONDITION, features) is expected


def test_column_evaluation_matches_row_evaluation() -> None:
    rows = [
        {"dpd": 31.0, "grade": "D", "broken_promises": 0.0},
        {"dpd": 31.0, "grade": "B", "broken_promises": 2.0},
        {"dpd": 31.0, "grade": "B", "broken_promises": 1.0},
        {"dpd": 30.0, "grade": "E", "broken_promises": 5.0},
        {"dpd": float("nan"), "grade": None, "broken_promises": 9.0},
    ]
    columns = {
        "dpd": np.asarray([r["dpd"] for r in rows]),
        "broken_promises": np.asarray([r["broken_promises"] for r in rows]),
        "grade": np.asarray([r["grade"] for r in rows], dtype=object),
    }
    negated = {"not": CONDITION}
    assert rules.evaluate_columns(CONDITION, columns, len(rows)).tolist() == [
        rules.evaluate(CONDITION, r) for r in rows
    ]
    assert rules.evaluate_columns(negated, columns, len(rows)).tolist() == [rules.evaluate(negated, r) for r in rows]


def test_alert_lifecycle_transitions() -> None:
    assert next_status("open", "acknowledge") == "acknowledged"
    assert next_status("acknowledged", "resolve") == "resolved"
    assert next_status("open", "dismiss") == "dismissed"
    assert next_status("acknowledged", "assign") == "acknowledged"
    for status, action in [("resolved", "acknowledge"), ("dismissed", "resolve"), ("acknowledged", "acknowledge")]:
        with pytest.raises(TransitionError):
            next_status(status, action)


def test_dedup_window() -> None:
    assert within_window(date(2026, 1, 1), date(2026, 1, 7), 7)
    assert not within_window(date(2026, 1, 1), date(2026, 1, 8), 7)
    assert not within_window(None, date(2026, 1, 8), 7)


def test_huge_numbers_are_refused_not_overflowing() -> None:
    for value in (10**400, -(10**400), 1e300, float("inf")):
        errors = rules.validate({"feature": "dpd", "op": ">", "value": value}, subject_type="loan")
        assert [e.path for e in errors] == ["$.value"], value
    errors = rules.validate({"feature": "dpd", "op": "in", "value": [1, 10**400]}, subject_type="loan")
    assert [e.path for e in errors] == ["$.value[1]"]
    assert rules.validate({"feature": "dpd", "op": ">", "value": 10**9}, subject_type="loan") == []


def test_list_lengths_are_capped() -> None:
    long_in = {"feature": "dpd", "op": "in", "value": list(range(rules.MAX_LIST + 1))}
    assert [e.path for e in rules.validate(long_in, subject_type="loan")] == ["$.value"]
    ok_in = {"feature": "dpd", "op": "in", "value": list(range(rules.MAX_LIST))}
    assert rules.validate(ok_in, subject_type="loan") == []
    wide = {"any": [{"feature": "dpd", "op": ">", "value": i} for i in range(rules.MAX_LIST + 1)]}
    assert [e.path for e in rules.validate(wide, subject_type="loan")] == ["$.any"]
