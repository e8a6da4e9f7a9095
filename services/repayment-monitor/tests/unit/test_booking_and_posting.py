"""Schedule validation at booking and the checks before a repayment is posted (pure rules)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from postloan_repayment_monitor.domain.booking import INVALID_SCHEDULE, schedule_refusal
from postloan_repayment_monitor.domain.ledger import Scheduled
from postloan_repayment_monitor.domain.posting import LoanTerms, Rejection, posting_refusal
from postloan_repayment_monitor.domain.refusal import Refusal

DISBURSED = date(2026, 1, 1)


def _rows(*items: tuple[int, date, str]) -> list[Scheduled]:
    return [Scheduled(seq, day, Decimal(p), Decimal("1.00"), Decimal("0.00")) for seq, day, p in items]


GOOD = _rows((1, date(2026, 2, 1), "50.00"), (2, date(2026, 3, 1), "50.00"))


def test_a_schedule_in_order_that_repays_the_principal_is_accepted():
    assert schedule_refusal(GOOD, principal=Decimal("100.00"), disbursed_on=DISBURSED) is None


@pytest.mark.parametrize(
    ("rows", "principal", "reason"),
    [
        ([], "100.00", "a loan needs installments or terms"),
        (_rows((1, date(2026, 2, 1), "50.00"), (3, date(2026, 3, 1), "50.00")), "100.00", "without gaps"),
        (_rows((1, date(2026, 3, 1), "50.00"), (2, date(2026, 2, 1), "50.00")), "100.00", "strictly increase"),
        (_rows((1, date(2026, 2, 1), "50.00"), (2, date(2026, 2, 1), "50.00")), "100.00", "strictly increase"),
        (_rows((1, DISBURSED, "100.00")), "100.00", "after disbursed_on"),
        (GOOD, "100.01", "sums to 100.00, not the loan principal 100.01"),
    ],
)
def test_a_schedule_that_breaks_a_rule_is_refused_with_the_reason(rows, principal, reason):
    refusal = schedule_refusal(rows, principal=Decimal(principal), disbursed_on=DISBURSED)
    assert refusal is not None and refusal.code == INVALID_SCHEDULE and reason in refusal.detail


LOAN = LoanTerms(loan_id="L-1", status="active", currency="EUR", disbursed_on=DISBURSED)
TODAY = date(2026, 4, 1)


def _post(loan: LoanTerms | None = LOAN, **overrides) -> Refusal | None:
    fields = dict(loan_id="L-1", amount=Decimal("10.00"), currency=None, value_date=TODAY, business_date=TODAY)
    return posting_refusal(loan, **{**fields, **overrides})


def test_a_valid_repayment_is_not_refused():
    assert _post() is None
    assert _post(currency="EUR", value_date=DISBURSED) is None


@pytest.mark.parametrize(
    ("loan", "overrides", "code"),
    [
        (None, {}, Rejection.UNKNOWN_LOAN),
        (LoanTerms("L-1", "closed", "EUR", DISBURSED), {}, Rejection.LOAN_CLOSED),
        (LOAN, {"amount": Decimal("0")}, Rejection.AMOUNT_NOT_POSITIVE),
        (LOAN, {"currency": "USD"}, Rejection.WRONG_CURRENCY),
        (LOAN, {"value_date": date(2026, 4, 2)}, Rejection.VALUE_DATE_IN_FUTURE),
        (LOAN, {"value_date": date(2025, 12, 31)}, Rejection.VALUE_DATE_BEFORE_DISBURSEMENT),
        (
            LoanTerms("L-1", "active", "EUR", DISBURSED, restructured=("R-1", date(2026, 3, 1))),
            {"value_date": date(2026, 2, 28)},
            Rejection.VALUE_DATE_BEFORE_RESTRUCTURING,
        ),
    ],
)
def test_a_repayment_that_breaks_a_rule_is_refused_with_its_code(loan, overrides, code):
    refusal = _post(loan, **overrides)
    assert refusal is not None and refusal.code == code and refusal.detail


def test_a_repayment_valued_on_the_restructuring_day_is_posted():
    restructured = LoanTerms("L-1", "active", "EUR", DISBURSED, restructured=("R-1", date(2026, 3, 1)))
    assert _post(restructured, value_date=date(2026, 3, 1)) is None
