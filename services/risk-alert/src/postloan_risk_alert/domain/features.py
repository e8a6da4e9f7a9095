"""Risk features derived from the stored loan features, as pure numpy functions and their SQL twins.

Where SQL must compute the same feature (a read or a snapshot), the SQL text is generated here next
to the Python function; tests evaluate both on the same cases (tests/integration/test_features_sql.py).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# The paid/due ratio is capped: prepaying far ahead says little more about risk than paying twice what is due.
PAID_DUE_CAP = 2.0
# Months since the last delinquency are counted in average Gregorian months.
DAYS_PER_MONTH = 30.44


def days_past_due(*, overdue_days: IntArray) -> IntArray:
    """Days past due: days since the oldest unpaid instalment fell due, never negative (0 when none is overdue).

    Mirrors the platform rule in docs/domain.md (repayment-monitor owns it in postloan_repayment_monitor/domain/
    delinquency.py; services may not import each other, so risk-alert keeps this twin and its SQL).
    `overdue_days` is business date minus overdue-since, with a negative value where nothing is overdue.
    """
    return np.maximum(overdue_days, 0)


def days_past_due_sql(*, overdue_since: str, business_date: str) -> str:
    """The SQL of `days_past_due` for a nullable `overdue_since` date column."""
    return f"CASE WHEN {overdue_since} IS NULL THEN 0 ELSE greatest({business_date} - {overdue_since}, 0) END"


def open_max(*, open_episode: BoolArray, episode_max: IntArray, dpd: IntArray) -> IntArray:
    """The worst DPD of the open delinquency episode (0 when none is open)."""
    return np.where(open_episode, np.maximum(episode_max, dpd), 0)


def months_since(*, dpd: IntArray, days_since_cure: FloatArray) -> FloatArray:
    """Whole months since the last cure; 0 while delinquent, NaN when never delinquent."""
    return np.where(dpd > 0, 0.0, np.floor(days_since_cure / DAYS_PER_MONTH))


def ratio(numerator: FloatArray, denominator: FloatArray, *, cap: float = np.inf) -> FloatArray:
    """numerator / denominator where the denominator is positive (NaN elsewhere), at most `cap`."""
    out = np.full(len(numerator), np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return np.minimum(out, cap)


def paid_due_ratio(*, amount_paid: FloatArray, amount_due: FloatArray) -> FloatArray:
    """Share of the amount due that was paid, capped at PAID_DUE_CAP (NaN when nothing was due)."""
    return ratio(amount_paid, amount_due, cap=PAID_DUE_CAP)


def paid_due_ratio_sql(*, amount_paid: str, amount_due: str) -> str:
    """The SQL of `paid_due_ratio`."""
    return f"CASE WHEN {amount_due} > 0 THEN least({amount_paid} / {amount_due}, {PAID_DUE_CAP:g}) END"
