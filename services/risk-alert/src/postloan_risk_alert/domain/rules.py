"""Early-warning rules as data: a small JSON condition language, validated and evaluated without eval().

    {"all": [{"feature": "dpd", "op": ">", "value": 30},
             {"any": [{"feature": "grade", "op": "in", "value": ["D", "E"]},
                      {"not": {"feature": "restructured", "op": "==", "value": 0}}]}]}

A comparison with a missing feature value is false. Conditions evaluate over one feature dict
(`evaluate`) or over column arrays of a whole book at once (`evaluate_columns`).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from postloan_risk_alert.domain import signals

BoolArray = npt.NDArray[np.bool_]

OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
ORDERING = frozenset({">", ">=", "<", "<="})
MAX_DEPTH = 8
MAX_NODES = 100
# Lists ('in' values, group children) and numbers are bounded: a huge integer does not fit a float
# (OverflowError), and no feature value comes anywhere near 1e15.
MAX_LIST = 50
MAX_NUMBER = 1e15

# Which features rules may name, per subject type, and whether each is a number or text.
NUMBER, TEXT = "number", "text"
LOAN_FEATURES: dict[str, str] = {
    "dpd": NUMBER,
    "ltv": NUMBER,
    "valuation_stale": NUMBER,
    "insurance_expiring": NUMBER,
    "guarantor_dpd": NUMBER,
    "guarantor_npl": NUMBER,
    "guarantee_expired": NUMBER,
    "max_dpd_3m": NUMBER,
    "max_dpd_6m": NUMBER,
    "max_dpd_12m": NUMBER,
    "episodes_30": NUMBER,
    "episodes_60": NUMBER,
    "episodes_90": NUMBER,
    "months_since_delinquency": NUMBER,
    "paid_due_ratio": NUMBER,
    "partial_share": NUMBER,
    "missed_count": NUMBER,
    "consecutive_misses": NUMBER,
    "broken_promises": NUMBER,
    "promises_kept": NUMBER,
    "negative_contact_share": NUMBER,
    "restructured": NUMBER,
    "outstanding": NUMBER,
    "overdue": NUMBER,
    "pd": NUMBER,
    "score": NUMBER,
    "score_drop": NUMBER,
    "ifrs9_stage": NUMBER,
    "debt_ratio": NUMBER,
    "current_ratio": NUMBER,
    "interest_coverage": NUMBER,
    "revenue_change": NUMBER,
    "grade": TEXT,
    "classification": TEXT,
    "product": TEXT,
    "segment": TEXT,
    **dict.fromkeys(signals.FEATURES, NUMBER),
}
CUSTOMER_FEATURES: dict[str, str] = {
    "loan_count": NUMBER,
    "outstanding": NUMBER,
    "max_dpd": NUMBER,
    "npl_share": NUMBER,
    "broken_promises": NUMBER,
    "debt_ratio": NUMBER,
    "current_ratio": NUMBER,
    "interest_coverage": NUMBER,
    "revenue_change": NUMBER,
    "debt_ratio_rises": NUMBER,
    "pd": NUMBER,
    "score": NUMBER,
    "grade": TEXT,
    "segment": TEXT,
    **dict.fromkeys(signals.FEATURES, NUMBER),
}
FEATURES_OF: dict[str, dict[str, str]] = {"loan": LOAN_FEATURES, "customer": CUSTOMER_FEATURES}


@dataclass(frozen=True)
class RuleError:
    """Where (a JSON path such as `$.all[1].op`) and why a condition is invalid."""

    path: str
    message: str


def validate(condition: object, *, subject_type: str) -> list[RuleError]:
    """Every error in `condition` with its JSON path; empty when the condition is valid."""
    features = FEATURES_OF.get(subject_type)
    if features is None:
        return [RuleError("$.subject_type", f"must be one of {sorted(FEATURES_OF)}")]
    errors: list[RuleError] = []
    nodes = [0]

    def check(node: object, path: str, depth: int) -> None:
        nodes[0] += 1
        if nodes[0] > MAX_NODES:
            if nodes[0] == MAX_NODES + 1:
                errors.append(RuleError(path, f"a condition may have at most {MAX_NODES} nodes"))
            return
        if depth > MAX_DEPTH:
            errors.append(RuleError(path, f"conditions nest at most {MAX_DEPTH} levels"))
            return
        if not isinstance(node, dict):
            errors.append(RuleError(path, "must be an object"))
            return
        keys = set(node)
        if keys & {"all", "any"}:
            if len(keys) != 1:
                errors.append(RuleError(path, "a group has exactly one key: 'all' or 'any'"))
                return
            key = next(iter(keys))
            empty, too_long = "must be a non-empty list of conditions", f"a group has at most {MAX_LIST} conditions"
            children = _bounded_list(node[key], f"{path}.{key}", errors, empty=empty, too_long=too_long)
            if children is None:
                return
            for i, child in enumerate(children):
                check(child, f"{path}.{key}[{i}]", depth + 1)
            return
        if "not" in keys:
            if len(keys) != 1:
                errors.append(RuleError(path, "'not' takes exactly one condition and no other keys"))
                return
            check(node["not"], f"{path}.not", depth + 1)
            return
        _check_comparison(node, path, features, errors)

    check(condition, "$", 0)
    return errors


def _check_comparison(node: dict[str, Any], path: str, features: dict[str, str], errors: list[RuleError]) -> None:
    unknown = set(node) - {"feature", "op", "value"}
    if unknown:
        errors.append(RuleError(f"{path}.{sorted(unknown)[0]}", "unknown key (expected feature, op, value)"))
    for key in ("feature", "op", "value"):
        if key not in node:
            errors.append(RuleError(f"{path}.{key}", "is required"))
    feature, op, value = node.get("feature"), node.get("op"), node.get("value")
    kind = features.get(feature) if isinstance(feature, str) else None
    if "feature" in node and kind is None:
        errors.append(
            RuleError(f"{path}.feature", f"unknown feature {feature!r}; known: {', '.join(sorted(features))}")
        )
    if "op" in node and op not in OPS and op != "in":
        errors.append(RuleError(f"{path}.op", f"unknown operator {op!r}; use one of {[*OPS, 'in']}"))
        return
    if "value" not in node or kind is None:
        return
    if op == "in":
        empty, too_long = "'in' needs a non-empty list", f"'in' takes at most {MAX_LIST} values"
        items = _bounded_list(value, f"{path}.value", errors, empty=empty, too_long=too_long)
        if items is None:
            return
        for i, item in enumerate(items):
            if not _fits(item, kind):
                errors.append(RuleError(f"{path}.value[{i}]", _value_error(item, kind)))
        return
    if not _fits(value, kind):
        errors.append(RuleError(f"{path}.value", _value_error(value, kind, feature)))
    elif kind == TEXT and op in ORDERING:
        errors.append(RuleError(f"{path}.op", f"{op!r} does not apply to the text feature {feature!r}"))


def _bounded_list(value: object, path: str, errors: list[RuleError], *, empty: str, too_long: str) -> list[Any] | None:
    """`value` when it is a list of 1 to MAX_LIST items; else None, with the error added to `errors`."""
    if not isinstance(value, list) or not value:
        errors.append(RuleError(path, empty))
        return None
    if len(value) > MAX_LIST:
        errors.append(RuleError(path, too_long))
        return None
    return value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fits(value: object, kind: str) -> bool:
    if kind == TEXT:
        return isinstance(value, str)
    if not _is_number(value):
        return False
    # Compare before any float conversion: math.isfinite(10**400) raises OverflowError.
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return -MAX_NUMBER <= value <= MAX_NUMBER  # type: ignore[operator]


def _value_error(value: object, kind: str, feature: object = None) -> str:
    if kind == NUMBER and _is_number(value):
        return f"must be a finite number of magnitude at most {MAX_NUMBER:g}"
    return f"must be a {kind}" + ("" if feature is None else f" for feature {feature!r}")


def evaluate(condition: Mapping[str, Any], features: Mapping[str, Any]) -> bool:
    """Whether a validated condition holds for one subject's features."""
    if "all" in condition:
        return all(evaluate(child, features) for child in condition["all"])
    if "any" in condition:
        return any(evaluate(child, features) for child in condition["any"])
    if "not" in condition:
        return not evaluate(condition["not"], features)
    actual = features.get(condition["feature"])
    if actual is None or (isinstance(actual, float) and math.isnan(actual)):
        return False
    if condition["op"] == "in":
        return actual in condition["value"]
    try:
        return bool(OPS[condition["op"]](actual, condition["value"]))
    except TypeError:
        return False


def evaluate_columns(condition: Mapping[str, Any], columns: Mapping[str, npt.NDArray[Any]], n: int) -> BoolArray:
    """Whether a validated condition holds for each of `n` subjects given as column arrays.

    Numeric columns are float arrays with NaN for missing; text columns are object arrays with None.
    """
    if "all" in condition:
        result = np.ones(n, dtype=np.bool_)
        for child in condition["all"]:
            result &= evaluate_columns(child, columns, n)
        return result
    if "any" in condition:
        result = np.zeros(n, dtype=np.bool_)
        for child in condition["any"]:
            result |= evaluate_columns(child, columns, n)
        return result
    if "not" in condition:
        return ~evaluate_columns(condition["not"], columns, n)
    column = columns.get(condition["feature"])
    if column is None:
        return np.zeros(n, dtype=np.bool_)
    op, value = condition["op"], condition["value"]
    if column.dtype == object:
        present = np.asarray([v is not None for v in column], dtype=np.bool_)
        if op == "in":
            return present & np.isin(column, list(value))
        return present & np.asarray(OPS[op](column, value), dtype=np.bool_)
    present = ~np.isnan(column)
    if op == "in":
        return present & np.isin(column, np.asarray(value, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        return present & np.asarray(OPS[op](column, float(value)), dtype=np.bool_)


def describe(condition: Mapping[str, Any]) -> str:
    """A readable one-line form of a condition, for alert messages."""
    if "all" in condition:
        return "(" + " and ".join(describe(c) for c in condition["all"]) + ")"
    if "any" in condition:
        return "(" + " or ".join(describe(c) for c in condition["any"]) + ")"
    if "not" in condition:
        return "not " + describe(condition["not"])
    return f"{condition['feature']} {condition['op']} {condition['value']!r}"
