from datetime import date
from decimal import Decimal as D

import pytest

from postloan_repayment_monitor.domain.rules import Bucket, BucketScheme, Component, ProductRules
from postloan_repayment_monitor.domain.schedule import add_months, days_30_360, generate


def schedule(
    method: str = "annuity",
    principal: str = "3000.00",
    rate: str = "0.12",
    disbursed_on: date = date(2026, 1, 5),
    first_due_date: date = date(2026, 2, 5),
    months: int = 3,
):
    """generate() with the test loan's defaults: disbursed 5 Jan 2026, first due 5 Feb, 3 months at 12 %."""
    return generate(
        method=method,
        principal=D(principal),
        annual_rate=D(rate),
        disbursed_on=disbursed_on,
        first_due_date=first_due_date,
        months=months,
    )


def test_annuity_schedule_worked_by_hand():
    # 12,000 at 12% for 12 months: payment = 12000 × 0.01 / (1 − 1.01^−12) = 1066.1854 → 1066.19
    rows = schedule(principal="12000.00", months=12)
    assert len(rows) == 12
    assert rows[0].interest == D("120.00") and rows[0].principal == D("946.19")
    assert rows[1].interest == D("110.54")  # 11053.81 × 0.01 = 110.5381
    assert sum(r.principal for r in rows) == D("12000.00")
    assert all(abs(r.total - D("1066.19")) <= D("0.05") for r in rows[:-1])


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("equal_principal", [("1000.00", "30.00"), ("1000.00", "20.00"), ("1000.00", "10.00")]),
        ("interest_only", [("0.00", "30.00"), ("0.00", "30.00"), ("3000.00", "30.00")]),
    ],
)
def test_equal_principal_and_interest_only(method, expected):
    rows = schedule(method)
    assert [(r.principal, r.interest) for r in rows] == [(D(p), D(i)) for p, i in expected]


def test_broken_first_period_uses_30_360_days():
    rows = schedule("interest_only", "3600.00", "0.10", date(2026, 1, 20), date(2026, 3, 5), months=2)
    # 30/360 days from 01-20 to 03-05 = 45; 3600 × 0.10 × 45/360 = 45.00
    assert days_30_360(date(2026, 1, 20), date(2026, 3, 5)) == 45
    assert rows[0].interest == D("45.00") and rows[1].interest == D("30.00")


def test_month_end_due_dates_clamp():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 1, 31), 2) == date(2026, 3, 31)


@pytest.mark.parametrize(
    ("method", "disbursed_on"),
    [
        ("annuity", date(2026, 2, 5)),  # first due on the disbursement day
        ("balloon", date(2026, 1, 5)),  # no such method
    ],
)
def test_generate_rejects_nonsense(method, disbursed_on):
    with pytest.raises(ValueError):
        schedule(method, "100", "0.1", disbursed_on)


@pytest.mark.parametrize(
    ("dpd", "bucket"),
    [
        (0, "M0"),
        (1, "M1"),
        (30, "M1"),
        (31, "M2"),
        (60, "M2"),
        (61, "M3"),
        (90, "M3"),
        (91, "M4"),
        (120, "M4"),
        (121, "M5"),
        (150, "M5"),
        (151, "M6"),
        (180, "M6"),
        (181, "M6+"),
        (5000, "M6+"),
    ],
)
def test_default_buckets(dpd, bucket):
    assert BucketScheme().bucket_of(dpd) == bucket


def test_bucket_thresholds_and_validation():
    assert BucketScheme().thresholds == (1, 31, 61, 91, 121, 151, 181)
    with pytest.raises(ValueError):
        BucketScheme((Bucket("A", 0, 10), Bucket("B", 12, None)))
    with pytest.raises(ValueError):
        ProductRules(component_order=(Component.FEE,))
