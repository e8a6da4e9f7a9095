"""Repayment-monitor rounds money with the platform's one helper: half-up, whatever the ambient context."""

from __future__ import annotations

import decimal
from datetime import date
from decimal import Decimal as D
from types import SimpleNamespace

import pytest

from postloan_repayment_monitor.domain.ledger import Scheduled
from postloan_repayment_monitor.domain.money import cents
from postloan_repayment_monitor.domain.restructuring import fold_arrears
from postloan_repayment_monitor.service import queries


@pytest.mark.parametrize(
    ("amount", "rounded"),
    [("0.005", "0.01"), ("-0.005", "-0.01"), ("0.025", "0.03"), ("2.675", "2.68"), ("0.0049", "0.00"), ("7", "7.00")],
)
def test_cents_round_half_up(amount: str, rounded: str) -> None:
    assert str(cents(D(amount))) == rounded


def test_cents_ignore_the_ambient_decimal_context() -> None:
    with decimal.localcontext() as context:
        context.rounding = decimal.ROUND_HALF_EVEN
        assert cents(D("0.025")) == D("0.03")


def test_arrears_shares_round_down_and_the_last_installment_takes_the_remainder() -> None:
    schedule = [Scheduled(k, date(2026, k, 1), D("10.00"), D("0"), D("0")) for k in (1, 2, 3)]
    folded = fold_arrears(schedule, interest=D("0.05"), fee=D("1.00"))
    assert [i.interest for i in folded] == [D("0.01"), D("0.01"), D("0.03")]
    assert [i.fee for i in folded] == [D("0.33"), D("0.33"), D("0.34")]


async def test_work_list_overdue_amount_rounds_half_up(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = {"loan_id": "L-1", "customer_id": "C-1", "product": "P", "branch": "B", "status": "active", "bucket": "M1"}
    # 10.025 open: the ambient (half-even) context gave 10.02.
    row = SimpleNamespace(
        **ids, oldest_unpaid_due=date(2026, 1, 1), outstanding_principal=D(100), overdue_amount=D("10.025")
    )

    async def overdue_loans(_session: object, **_kwargs: object) -> list[SimpleNamespace]:
        return [row]

    monkeypatch.setattr(queries.store, "overdue_loans", overdue_loans)
    filters = dict.fromkeys(("status", "bucket", "product", "branch", "cursor"))
    items, _ = await queries.work_list(None, business_date=date(2026, 1, 10), min_dpd=0, limit=10, **filters)  # type: ignore[arg-type]
    assert items[0]["overdue_amount"] == D("10.03")
