"""Trend features of assessments: the change of each ratio, the debt ratio's rising streak."""

from __future__ import annotations

from decimal import Decimal as D

from postloan_risk_alert.domain.trends import ratio_changes, rising_streak


def test_ratio_changes_against_the_previous_period() -> None:
    current = {"debt_ratio": D("0.7500"), "current_ratio": D("0.9000"), "revenue_change": None}
    previous = {"debt_ratio": D("0.6000"), "current_ratio": None, "revenue_change": D("0.1")}
    assert ratio_changes(current, previous) == {
        "debt_ratio": D("0.1500"),
        "current_ratio": None,
        "revenue_change": None,
    }
    assert ratio_changes(current, None) == dict.fromkeys(current)


def test_rising_streak_counts_rises_ending_at_the_latest() -> None:
    assert rising_streak([D("0.5"), D("0.6"), D("0.7")]) == 2
    assert rising_streak([D("0.7"), D("0.5"), D("0.6")]) == 1
    assert rising_streak([D("0.5"), D("0.6"), D("0.6")]) == 0, "flat is not rising"
    assert rising_streak([None, D("0.6"), D("0.7")]) == 1
    assert rising_streak([D("0.5")]) == 0
    assert rising_streak([]) == 0
