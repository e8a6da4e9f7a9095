"""Effectiveness statistics against hand-worked figures (docs/domain.md, issue 16 item 6)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from postloan_reporting.domain.effectiveness import (
    contact_cost,
    cost_per_yuan,
    cured_within,
    defaulted,
    is_mature,
    observed_days,
    proportion,
    rolled_forward,
    two_proportion_p_value,
    wilson_interval,
    year_before,
)


def test_wilson_interval_of_8_in_10():
    # p = 0.8, z² = 3.8415: centre (0.8 + 0.19207)/1.38415 = 0.71674, half 1.96/1.38415 × √(0.016 + 0.0096) = 0.22658.
    low, high = wilson_interval(8, 10)
    assert (round(low, 4), round(high, 4)) == (D("0.4902"), D("0.9433"))


def test_wilson_interval_at_the_edges_stays_inside_0_and_1():
    # 0 of 10: the upper end is z²/n ÷ (1 + z²/n) = 0.38415 / 1.38415 = 0.27753.
    assert wilson_interval(0, 10) == (D("0.000000"), D("0.277533"))
    assert wilson_interval(10, 10) == (D("0.722467"), D("1.000000"))
    assert wilson_interval(0, 0) is None


def test_two_proportion_z_test_of_45_in_100_against_30_in_100():
    # pooled 0.375, se √(0.375 × 0.625 × 0.02) = 0.068465, z = 0.15 / 0.068465 = 2.1909, p = 2(1 − Φ(2.1909)).
    assert round(two_proportion_p_value(45, 100, 30, 100), 4) == D("0.0285")
    assert two_proportion_p_value(30, 100, 45, 100) == two_proportion_p_value(45, 100, 30, 100)
    assert two_proportion_p_value(10, 20, 10, 20) == D("1.000000")


@pytest.mark.parametrize("args", [(5, 5, 5, 5), (0, 5, 0, 9), (1, 0, 1, 5)])
def test_the_p_value_is_undefined_without_variance_or_trials(args):
    assert two_proportion_p_value(*args) is None


def test_a_proportion_against_the_champion_has_its_difference_and_p_value():
    arm = proportion(45, 100, champion=(30, 100))
    assert (arm.rate, arm.difference) == (D("0.450000"), D("0.150000"))
    assert arm.ci_low < arm.rate < arm.ci_high
    assert round(arm.p_value, 4) == D("0.0285")
    alone = proportion(0, 0)
    assert (alone.rate, alone.ci_low, alone.difference, alone.p_value) == (None, None, None, None)


def test_cure_window_maturity_and_roll_forward():
    opened = date(2026, 3, 1)
    assert cured_within(opened_on=opened, closed_on=date(2026, 3, 31), reason="cured")
    assert not cured_within(opened_on=opened, closed_on=date(2026, 4, 1), reason="cured")
    assert not cured_within(opened_on=opened, closed_on=date(2026, 3, 5), reason="written_off")
    assert not cured_within(opened_on=opened, closed_on=None, reason=None)
    assert is_mature(opened, as_of=date(2026, 3, 31)) and not is_mature(opened, as_of=date(2026, 3, 30))
    assert rolled_forward(opened_dpd=5, dpd_after=35)  # M1 → M2
    assert not rolled_forward(opened_dpd=5, dpd_after=30)  # still M1
    assert not rolled_forward(opened_dpd=5, dpd_after=0)  # cured
    assert not rolled_forward(opened_dpd=None, dpd_after=90)


def test_contact_cost_counts_units_and_collector_hours():
    direct, hours, time_cost = contact_cost(
        {"sms": 10, "phone": 12, "letter": 1},
        unit_cost={"sms": D("0.05"), "phone": D("0.30"), "letter": D("2.00")},
        handle_minutes={"phone": D("5")},
        hour_cost=D("60"),
    )
    # 10 × 0.05 + 12 × 0.30 + 2.00 = 6.10; 12 × 5 min = 1 h; 1 h × 60 = 60.00.
    assert (direct, hours, time_cost) == (D("6.10"), D("1.000000"), D("60.00"))
    assert cost_per_yuan(D("66.10"), D("661.00")) == D("0.100000")
    assert cost_per_yuan(D("10"), D("0")) is None


def test_the_programme_horizon_default_threshold_and_year_before():
    assert observed_days(cohort_end=date(2026, 1, 31), as_of=date(2026, 3, 31)) == 59
    assert observed_days(cohort_end=date(2025, 1, 31), as_of=date(2026, 3, 31)) == 365  # capped at 12 months
    assert observed_days(cohort_end=date(2026, 3, 31), as_of=date(2026, 3, 31)) == 0
    assert defaulted(91) and not defaulted(90)  # more than 90 DPD, as PAR90 counts it
    assert year_before(date(2026, 3, 1)) == date(2025, 3, 1)
    assert year_before(date(2028, 2, 29)) == date(2027, 2, 28)
    assert year_before(date(1, 3, 1)) == date(1, 3, 1)  # a far-past `from` is no 500
