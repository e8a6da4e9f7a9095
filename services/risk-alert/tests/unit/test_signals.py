"""External signals as rule features (domain/signals.py): each feature, its window and its edge."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest

from postloan_risk_alert.domain import rules
from postloan_risk_alert.domain import signals as s

D = date(2026, 6, 30)


_IDS = itertools.count(1)


def sig(kind: str, days_ago: int, value: str | None = None, **details: str) -> s.Signal:
    """A signal of `kind` observed `days_ago` before D; details: case_id, status."""
    return s.Signal(f"S-{next(_IDS)}", kind, D - timedelta(days=days_ago), Decimal(value) if value else None, **details)


def test_a_loan_signal_is_about_its_borrower_and_an_industry_about_no_one_customer() -> None:
    assert s.customer_of(subject="customer", subject_id="C-1", loan_customers={}) == "C-1"
    assert s.customer_of(subject="loan", subject_id="L-1", loan_customers={"L-1": "C-9"}) == "C-9"
    assert s.customer_of(subject="industry", subject_id="C3130", loan_customers={}) is None
    with pytest.raises(KeyError):
        s.customer_of(subject="loan", subject_id="L-404", loan_customers={})


def test_open_court_cases_follow_their_latest_signal() -> None:
    judgments = [
        sig("court_judgment", 200, case_id="K-1"),
        sig("court_judgment", 20, case_id="K-1", status="Satisfied"),  # K-1 closed later
        sig("court_judgment", 10, case_id="K-2"),
        sig("court_judgment", 5),  # no case id: a case of its own
        sig("court_judgment", s.LOOKBACK_DAYS + 30),  # too old to count
        sig("court_judgment", -1),  # after the day
        sig("enforcement_listing", 3),
    ]
    assert s.open_cases(judgments, kind="court_judgment", as_of=D) == 2
    assert s.open_cases(judgments, kind="enforcement_listing", as_of=D) == 1
    # As of before the closing signal, K-1 was open.
    assert s.open_cases(judgments, kind="court_judgment", as_of=D - timedelta(days=21)) == 1


def test_bureau_inquiries_count_their_values_in_90_days() -> None:
    reports = [sig("bureau_inquiries", 89, "4"), sig("bureau_inquiries", 1), sig("bureau_inquiries", 90, "7")]
    assert s.bureau_inquiries(reports, as_of=D) == 5.0


def test_bureau_delinquency_is_the_latest_report_of_90_days() -> None:
    assert s.bureau_delinquency([], as_of=D) == 0.0
    assert s.bureau_delinquency([sig("bureau_delinquency", 30, "45"), sig("bureau_delinquency", 2, "0")], as_of=D) == 0
    assert s.bureau_delinquency([sig("bureau_delinquency", 30, "45")], as_of=D) == 45.0
    assert s.bureau_delinquency([sig("bureau_delinquency", 30)], as_of=D) == 1.0
    assert s.bureau_delinquency([sig("bureau_delinquency", 91, "60")], as_of=D) == 0.0


def test_industry_index_change_is_against_the_value_90_days_before_the_latest() -> None:
    points = [sig("industry_index", 200, "90"), sig("industry_index", 100, "100"), sig("industry_index", 5, "80")]
    assert s.index_change(points, as_of=D) == pytest.approx(-0.2)
    assert s.index_change(points[1:], as_of=D) == pytest.approx(-0.2)
    assert s.index_change(points[2:], as_of=D) is None, "no value old enough to compare with"
    assert s.index_change([sig("industry_index", 100, "0"), points[2]], as_of=D) is None
    assert s.index_change([], as_of=D) is None


def test_features_of_a_customer_and_every_feature_is_a_rule_feature() -> None:
    mine = [sig("court_judgment", 3), sig("adverse_news", 10), sig("business_registration_change", 100)]
    features = s.signal_features(mine, [], as_of=D)
    assert features == {
        **s.NO_SIGNALS,
        "court_judgments_open": 1.0,
        "adverse_news_90d": 1.0,
    }
    assert set(features) == set(s.FEATURES)
    for subject_type in ("loan", "customer"):
        assert set(s.FEATURES) <= set(rules.FEATURES_OF[subject_type])


def test_a_retry_has_the_fingerprint_of_the_first() -> None:
    assert s.fingerprint({"a": 1, "b": "x"}) == s.fingerprint({"b": "x", "a": 1})
    assert s.fingerprint({"a": 1}) != s.fingerprint({"a": 2})
