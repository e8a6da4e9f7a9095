"""Builders shared by repayment-monitor's tests: the reference loan L-1001 and product rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from typing import Any

from postloan_common.contracts import RepaymentPostedV1, make_envelope
from postloan_common.messaging.envelope import Envelope
from postloan_repayment_monitor.domain.ledger import Scheduled

# Loan L-1001: 3 × 1,000.00 + 30 / 20 / 10 interest, due 5 Feb, 5 Mar, 5 Apr 2026, 12 %.
DUE_DATES = ("2026-02-05", "2026-03-05", "2026-04-05")


def loan_body(
    loan_id: str = "L-1001", product: str = "consumer-12m", *due_dates: str, customer_id: str | None = None
) -> dict[str, Any]:
    """A loan of 3 × 1,000.00 (+ 30 / 20 / 10 interest) due on `due_dates` (default: 5 Feb, 5 Mar, 5 Apr 2026)."""
    return {
        "loan_id": loan_id,
        "customer_id": customer_id or ("C-77" if loan_id == "L-1001" else f"C-{loan_id}"),
        "product": product,
        "branch": "SH01",
        "currency": "CNY",
        "principal": "3000.00",
        "annual_rate": "0.1200",
        "disbursed_on": "2026-01-05",
        "installments": [
            {"seq": k + 1, "due_date": due, "principal": "1000.00", "interest": f"{30 - 10 * k}.00", "fee": "0.00"}
            for k, due in enumerate(due_dates or DUE_DATES)
        ],
    }


LOAN = loan_body()

# The rules of a product created without any (docs/domain.md); tests change what they exercise.
DEFAULT_RULES: dict[str, Any] = {
    "waterfall": "installment_first",
    "component_order": ["penalty", "fee", "interest", "principal"],
    "penalty_annual_rate": None,
    "penalty_multiplier": "1.5",
    "grace_days": 0,
    "overpayment": "credit",
    "due_offsets": [7, 3, 1, 0],
    "shift_due_dates": False,
}


def product_rules(**change: Any) -> dict[str, Any]:
    """The default product rules with `change`."""
    return {**DEFAULT_RULES, **change}


# L-1001's schedule for the domain replay (unit tests).
SCHEDULE = [
    Scheduled(1, date(2026, 2, 5), D("1000.00"), D("30.00")),
    Scheduled(2, date(2026, 3, 5), D("1000.00"), D("20.00")),
    Scheduled(3, date(2026, 4, 5), D("1000.00"), D("10.00")),
]


COMPONENTS = ("penalty", "fee", "interest", "principal", "credit")


def allocation(**amounts: str) -> dict[str, str]:
    """A repayment's allocation as the API shows it: every component, "0.00" unless given."""
    unknown = set(amounts) - set(COMPONENTS)
    assert not unknown, f"not an allocation component: {unknown}"
    return {component: amounts.get(component, "0.00") for component in COMPONENTS}


def repayment_posted(loan_id: str, repayment_id: str, amount: str, value_date: str, **extra: Any) -> Envelope:
    """Core banking's `repayment-posted` of `amount` for `loan_id`, by bank transfer."""
    data = RepaymentPostedV1(
        loan_id=loan_id,
        repayment_id=repayment_id,
        amount=D(amount),
        value_date=date.fromisoformat(value_date),
        channel="bank-transfer",
        **extra,
    )
    return make_envelope(data=data, source="core-banking", subject=loan_id)
