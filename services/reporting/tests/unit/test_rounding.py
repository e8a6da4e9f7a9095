"""Reporting rounds half-up with the platform's one helper (issue 13 item 7): 0.005 is a cent, not zero."""

from __future__ import annotations

import decimal
from datetime import date
from decimal import Decimal as D

import pytest

from postloan_reporting.domain.collections import cei
from postloan_reporting.domain.kpis import AggRow, portfolio
from postloan_reporting.domain.ratios import money, ratio, rounded_ratio


@pytest.mark.parametrize(
    ("amount", "cents"),
    [
        ("0.005", "0.01"),  # half-even gave 0.00
        ("0.015", "0.02"),
        ("0.025", "0.03"),  # half-even gave 0.02
        ("2.675", "2.68"),
        ("-0.005", "-0.01"),
        ("0.0049", "0.00"),
        ("10", "10.00"),
    ],
)
def test_money_rounds_half_up_to_cents(amount: str, cents: str) -> None:
    assert str(money(D(amount))) == cents


def test_ratios_round_half_up_to_six_places() -> None:
    assert ratio(5, 10_000_000) == D("0.000001")  # 0.0000005; half-even gave 0.000000
    assert ratio(25, 10_000_000) == D("0.000003")  # 0.0000025; half-even gave 0.000002
    assert rounded_ratio(D("0.1234565")) == D("0.123457")
    assert ratio(1, 0) is None


def test_rounding_ignores_the_ambient_decimal_context() -> None:
    with decimal.localcontext() as context:
        context.rounding = decimal.ROUND_DOWN
        assert money(D("0.005")) == D("0.01")


def test_report_balances_at_half_a_cent_round_up() -> None:
    day = date(2026, 1, 1)
    rows = [
        AggRow("P", "B", day, 0, 0, 1, D("100.005"), D("100.005"), D("0")),
        AggRow("P", "B", day, 1, 1, 1, D("0.020"), D("0.025"), D("0.015")),
    ]
    kpis = portfolio(rows).kpis
    assert kpis.outstanding == D("100.03")  # 100.025
    assert kpis.outstanding_total == D("100.03")  # 100.030
    assert kpis.overdue_amount == D("0.02")  # 0.015
    assert cei(
        opening=D("0.005"), billed=D("0"), closing_overdue=D("0"), closing_current=D("0")
    ).opening_receivable == D("0.01")
