"""Days past due and buckets: the one rule every path uses."""

from __future__ import annotations

from datetime import date

from postloan_repayment_monitor.domain.delinquency import bucket_on, days_past_due
from postloan_repayment_monitor.domain.rules import BucketScheme

DAY = date(2026, 3, 31)


def test_dpd_counts_days_since_the_oldest_unpaid_due_date():
    assert days_past_due(date(2026, 3, 1), DAY) == 30
    assert days_past_due(date(2026, 3, 30), DAY) == 1


def test_dpd_is_zero_when_nothing_is_due_yet_or_nothing_is_unpaid():
    assert days_past_due(DAY, DAY) == 0
    assert days_past_due(date(2026, 4, 15), DAY) == 0
    assert days_past_due(None, DAY) == 0


def test_the_bucket_follows_the_dpd():
    scheme = BucketScheme()
    assert bucket_on(None, DAY, scheme) == "M0"
    assert bucket_on(date(2026, 3, 30), DAY, scheme) == "M1"
    assert bucket_on(date(2026, 3, 1), DAY, scheme) == "M1"
    assert bucket_on(date(2026, 2, 28), DAY, scheme) == "M2"
    assert bucket_on(date(2025, 1, 1), DAY, scheme) == "M6+"
