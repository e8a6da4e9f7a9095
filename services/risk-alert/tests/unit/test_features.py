"""Derived risk features: the pure functions close of day uses and the SQL they generate."""

from __future__ import annotations

import numpy as np

from postloan_risk_alert.domain import classification as cls
from postloan_risk_alert.domain import features


def test_days_past_due_is_never_negative() -> None:
    assert features.days_past_due(overdue_days=np.array([-3, 0, 1, 45])).tolist() == [0, 0, 1, 45]


def test_open_max_is_the_worst_dpd_of_an_open_episode_only() -> None:
    got = features.open_max(
        open_episode=np.array([True, True, False]), episode_max=np.array([40, 10, 99]), dpd=np.array([35, 20, 0])
    )
    assert got.tolist() == [40, 20, 0]


def test_months_since_counts_whole_months_since_cure_and_zero_while_late() -> None:
    got = features.months_since(dpd=np.array([0, 0, 5, 0]), days_since_cure=np.array([30.0, 61.0, 100.0, np.nan]))
    assert got[:3].tolist() == [0.0, 2.0, 0.0]
    assert np.isnan(got[3])


def test_paid_due_ratio_is_capped_and_undefined_without_a_due_amount() -> None:
    got = features.paid_due_ratio(amount_paid=np.array([50.0, 900.0, 10.0]), amount_due=np.array([100.0, 100.0, 0.0]))
    assert got[:2].tolist() == [0.5, features.PAID_DUE_CAP]
    assert np.isnan(got[2])


def test_npl_categories_are_substandard_and_worse() -> None:
    assert cls.NPL_CATEGORIES == ("substandard", "doubtful", "loss")
    assert cls.npl_sql("c.category") == "c.category IN ('substandard', 'doubtful', 'loss')"
