"""Posting rules: when a repayment can be posted to a loan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from postloan_repayment_monitor.domain.recovery import is_recovery
from postloan_repayment_monitor.domain.refusal import Refusal


class Rejection(StrEnum):
    UNKNOWN_LOAN = "unknown_loan"
    LOAN_CLOSED = "loan_closed"
    AMOUNT_NOT_POSITIVE = "amount_not_positive"
    WRONG_CURRENCY = "wrong_currency"
    VALUE_DATE_IN_FUTURE = "value_date_in_future"
    VALUE_DATE_BEFORE_DISBURSEMENT = "value_date_before_disbursement"
    ID_REUSED = "repayment_id_reused"
    UNKNOWN_REPAYMENT = "unknown_repayment"
    VALUE_DATE_BEFORE_RESTRUCTURING = "value_date_before_restructuring"
    PRECEDES_RESTRUCTURING = "repayment_precedes_restructuring"


@dataclass(frozen=True)
class LoanTerms:
    """What the posting rules read of a loan."""

    loan_id: str
    status: str
    currency: str
    disbursed_on: date
    # The latest restructuring (id, day), if any.
    restructured: tuple[str, date] | None = None


def posting_refusal(
    loan: LoanTerms | None,
    *,
    loan_id: str,
    amount: Decimal,
    currency: str | None,
    value_date: date,
    business_date: date,
) -> Refusal | None:
    """Why a repayment cannot be posted to `loan` (None: not known), or None.

    The loan must be known and active, or written off (the repayment is then a recovery); the amount
    positive; the currency, when given, the loan's; the value date not after the business date, not
    before the disbursement and not before the loan's latest restructuring (which replaced the
    installments it would pay).
    """
    if loan is None:
        return Refusal(Rejection.UNKNOWN_LOAN, f"loan {loan_id} is not known")
    if loan.status != "active" and not is_recovery(loan.status):
        return Refusal(Rejection.LOAN_CLOSED, f"loan {loan_id} is {loan.status}")
    if amount <= 0:
        return Refusal(Rejection.AMOUNT_NOT_POSITIVE, "amount must be greater than zero")
    if currency is not None and currency != loan.currency:
        return Refusal(Rejection.WRONG_CURRENCY, f"loan {loan_id} is in {loan.currency}, not {currency}")
    if value_date > business_date:
        return Refusal(
            Rejection.VALUE_DATE_IN_FUTURE, f"value_date {value_date} is after the business date {business_date}"
        )
    if value_date < loan.disbursed_on:
        return Refusal(
            Rejection.VALUE_DATE_BEFORE_DISBURSEMENT,
            f"value_date {value_date} is before the disbursement on {loan.disbursed_on}",
        )
    if loan.restructured is not None and value_date < loan.restructured[1]:
        restructure_id, on = loan.restructured
        return Refusal(
            Rejection.VALUE_DATE_BEFORE_RESTRUCTURING,
            f"value_date {value_date} is before the loan's restructuring {restructure_id} "
            f"on {on}, which replaced the installments it would pay",
        )
    return None
