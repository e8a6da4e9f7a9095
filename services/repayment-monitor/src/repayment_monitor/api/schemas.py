"""Request and response bodies of the repayment-monitor API (the REST contract of ARCHITECTURE §4)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from postloan_common.contracts import Money, PositiveMoney, Rate

Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InstallmentIn(_In):
    seq: int = Field(ge=1, le=1200)
    due_date: date
    principal: Money
    interest: Money
    fee: Money = Decimal("0.00")


class TermsIn(_In):
    method: Literal["annuity", "equal_principal", "interest_only"]
    months: int = Field(ge=1, le=600)
    first_due_date: date


class LoanIn(_In):
    loan_id: Id
    customer_id: Id
    product: Id
    branch: Id
    currency: Currency
    principal: PositiveMoney
    annual_rate: Rate
    disbursed_on: date
    installments: list[InstallmentIn] | None = Field(default=None, min_length=1, max_length=1200)
    terms: TermsIn | None = None

    @model_validator(mode="after")
    def _one_schedule(self) -> Self:
        if (self.installments is None) == (self.terms is None):
            raise ValueError("give exactly one of 'installments' and 'terms'")
        return self


class RepaymentIn(_In):
    repayment_id: Id
    amount: PositiveMoney
    value_date: date
    channel: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    currency: Currency | None = None


class ReversalIn(_In):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)] = "reversed"


class AdvanceIn(_In):
    to: date


class CloseDayIn(_In):
    # When given, closing is only done if this is the current business date (safe retries).
    business_date: date | None = None


class Amounts(BaseModel):
    principal: Decimal
    interest: Decimal
    fee: Decimal
    penalty: Decimal
    total: Decimal


class NextDue(BaseModel):
    seq: int
    due_date: date
    amount: Decimal


class LoanOut(BaseModel):
    loan_id: str
    customer_id: str
    product: str
    branch: str
    currency: str
    principal: Decimal
    annual_rate: Decimal
    disbursed_on: date
    status: str
    business_date: date
    dpd: int
    bucket: str
    outstanding: Amounts
    overdue: Amounts
    penalty: Decimal
    credit_balance: Decimal
    next_due: NextDue | None
    closed_on: date | None


class InstallmentOut(BaseModel):
    seq: int
    due_date: date
    status: Literal["paid", "partially_paid", "overdue", "due", "not_due"]
    scheduled: Amounts
    paid: Amounts
    open: Amounts
    settled_on: date | None


class ScheduleOut(BaseModel):
    loan_id: str
    business_date: date
    installments: list[InstallmentOut]


class WorkItem(BaseModel):
    loan_id: str
    customer_id: str
    product: str
    branch: str
    status: str
    dpd: int
    bucket: str
    oldest_unpaid_due: date | None
    outstanding_principal: Decimal
    overdue_amount: Decimal


class WorkListOut(BaseModel):
    business_date: date
    items: list[WorkItem]
    next_cursor: str | None


class LoanEventOut(BaseModel):
    event_id: str
    type: str
    business_date: date | None
    occurred_at: str
    data: dict[str, Any]


class LoanEventsOut(BaseModel):
    loan_id: str
    items: list[LoanEventOut]
    next_cursor: str | None


class BucketPeriod(BaseModel):
    start: date
    bucket: str
    dpd_at_start: int


class DpdHistoryOut(BaseModel):
    loan_id: str
    business_date: date
    periods: list[BucketPeriod]


class CalendarOut(BaseModel):
    business_date: date
    last_closed: date | None
    timezone: str
    close_of_day_at: str | None


class CloseDayOut(BaseModel):
    closed: date
    business_date: date
    already_closed: bool
    stats: dict[str, Any]


class AdvanceOut(BaseModel):
    business_date: date
    closed: list[CloseDayOut]
