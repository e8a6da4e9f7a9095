"""Five-category classification, IFRS 9 staging and ECL (pure, no I/O)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from postloan_risk_alert.domain import ifrs9
from postloan_risk_alert.domain.classification import (
    Claim,
    LoanState,
    apply_debtor_rule,
    classify_one,
    observation_restart,
)

TODAY = date(2026, 6, 30)


@pytest.mark.parametrize(
    ("dpd", "expected"),
    [
        (0, "normal"),
        (1, "special_mention"),
        (90, "special_mention"),
        (91, "substandard"),
        (270, "substandard"),
        (271, "doubtful"),
        (360, "doubtful"),
        (361, "loss"),
    ],
)
def test_dpd_floors_at_every_boundary(dpd: int, expected: str) -> None:
    result = classify_one(LoanState(dpd=dpd), as_of=TODAY)
    assert result.category == expected
    assert result.reason == ("performing" if dpd == 0 else "dpd_floor")


def test_judgement_cannot_improve_on_the_dpd_floor() -> None:
    # A previously worse performing category does not hold, but the floor always applies.
    assert classify_one(LoanState(dpd=95, previous_category="normal"), as_of=TODAY).category == "substandard"


def test_restructured_loan_is_special_mention_through_its_observation_period() -> None:
    restructured_on = date(2026, 1, 10)
    first_due = date(2026, 2, 10)
    loan = LoanState(dpd=0, restructured=True, observation_start=first_due, category_at_restructure="special_mention")
    before_first_due = classify_one(loan, as_of=restructured_on + timedelta(days=5))
    assert before_first_due.category == "special_mention"
    assert before_first_due.reason == "restructured_observation"
    during = classify_one(loan, as_of=first_due + timedelta(days=364))
    assert during.category == "special_mention"
    assert during.in_observation
    assert during.observation_end == first_due + timedelta(days=365)
    after = classify_one(loan, as_of=first_due + timedelta(days=365))
    assert after.category == "normal"
    assert not after.in_observation


def test_observation_lasts_two_periods_when_they_are_longer_than_a_year() -> None:
    start = date(2026, 1, 1)
    loan = LoanState(dpd=0, period_days=365, restructured=True, observation_start=start)
    assert classify_one(loan, as_of=start + timedelta(days=500)).category == "special_mention"
    assert classify_one(loan, as_of=start + timedelta(days=730)).category == "normal"


def test_a_missed_payment_restarts_the_observation_period() -> None:
    start = date(2026, 1, 1)
    restart = observation_restart(date(2026, 9, 1), 30)
    assert restart == date(2026, 10, 1)
    original = LoanState(dpd=0, restructured=True, observation_start=start)
    restarted = LoanState(dpd=0, restructured=True, observation_start=restart)
    day = start + timedelta(days=400)
    assert classify_one(original, as_of=day).category == "normal"
    assert classify_one(restarted, as_of=day).category == "special_mention"


def test_an_npl_at_restructuring_is_not_upgraded_during_observation() -> None:
    start = date(2026, 1, 1)
    loan = LoanState(
        dpd=0,
        restructured=True,
        observation_start=start,
        category_at_restructure="doubtful",
        previous_category="doubtful",
        last_cured_on=start - timedelta(days=400),
    )
    during = classify_one(loan, as_of=start + timedelta(days=300))
    assert during.category == "doubtful"
    after = classify_one(loan, as_of=start + timedelta(days=366))
    assert after.category == "normal"


def test_npl_upgrade_needs_arrears_repaid_and_six_months_or_two_periods_on_time() -> None:
    cured = date(2026, 1, 1)
    npl = LoanState(dpd=0, previous_category="substandard", last_cured_on=cured)
    assert classify_one(npl, as_of=cured + timedelta(days=182)).category == "substandard"
    assert classify_one(npl, as_of=cured + timedelta(days=182)).reason == "npl_not_upgraded"
    assert classify_one(npl, as_of=cured + timedelta(days=183)).category == "normal"
    # Quarterly installments: two periods (180 days) are shorter than six months, so six months rule.
    quarterly = LoanState(dpd=0, period_days=120, previous_category="substandard", last_cured_on=cured)
    assert classify_one(quarterly, as_of=cured + timedelta(days=200)).category == "substandard"
    assert classify_one(quarterly, as_of=cured + timedelta(days=240)).category == "normal"
    # Still in arrears: not upgraded however long ago it was last cured.
    in_arrears = LoanState(dpd=5, previous_category="doubtful", last_cured_on=cured)
    assert classify_one(in_arrears, as_of=cured + timedelta(days=900)).category == "doubtful"


def test_debtor_rule_makes_all_claims_npl_above_ten_percent() -> None:
    assert apply_debtor_rule([Claim("substandard", 11.0), Claim("normal", 89.0)]) == ["substandard", "substandard"]
    assert apply_debtor_rule([Claim("substandard", 10.0), Claim("normal", 90.0)]) == ["substandard", "normal"]
    # Retail claims are not contaminated.
    assert apply_debtor_rule([Claim("loss", 50.0, non_retail=False), Claim("normal", 50.0, non_retail=False)]) == [
        "loss",
        "normal",
    ]


def test_ifrs9_stages_with_backstops_and_pd_deterioration() -> None:
    dpd = np.asarray([0, 30, 31, 90, 91, 0, 0])
    category = np.asarray([0, 1, 1, 1, 2, 2, 0])
    pd = np.asarray([0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.09])
    origination = np.full(7, 0.02)
    assert ifrs9.stage(dpd=dpd, category=category, pd=pd, pd_origination=origination).tolist() == [1, 1, 2, 2, 3, 3, 2]


def test_ecl_uses_12_month_lifetime_and_certain_default_by_stage() -> None:
    cents = ifrs9.ecl_cents(
        stage=np.asarray([1, 2, 3]),
        pd12=np.asarray([0.1, 0.1, 0.1]),
        lgd=np.asarray([0.5, 0.5, 0.5]),
        ead_cents=np.asarray([100_000, 100_000, 100_000]),
        remaining_years=np.asarray([3.0, 3.0, 3.0]),
        annual_rate=np.asarray([0.0, 0.0, 0.0]),
    )
    assert cents.tolist() == [5_000, round(100_000 * 0.5 * (1 - 0.9**3)), 50_000]


def test_lgd_table_most_specific_entry_wins() -> None:
    policy = ifrs9.Ifrs9Policy(lgd={"*:none": 0.45, "mortgage:real_estate": 0.15, "*:real_estate": 0.25})
    assert policy.lgd_for("mortgage", "real_estate") == 0.15
    assert policy.lgd_for("sme", "real_estate") == 0.25
    assert policy.lgd_for("sme", "none") == 0.45
    assert policy.lgd_for("sme", "gold") == ifrs9.FALLBACK_LGD
