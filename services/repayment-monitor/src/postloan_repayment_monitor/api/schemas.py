"""Request and response bodies of the repayment-monitor API (the REST contract of docs/architecture.md)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from postloan_common.contracts import LoanPurpose, Rate
from postloan_common.web.openapi import DecimalText
from postloan_repayment_monitor.service.booking_input import (  # noqa: F401 - shared with the bulk load
    MAX_AMOUNT,
    Amount,
    AnnualRate,
    Currency,
    Day,
    Id,
    InstallmentIn,
    LoanIn,
    PositiveAmount,
    RestructuringIn,
    TermsIn,
    _at_most,
    _In,
)


class RepaymentIn(_In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "repayment_id": "R-2001",
                    "amount": "1066.19",
                    "value_date": "2026-02-15",
                    "channel": "bank_transfer",
                    "currency": "CNY",
                }
            ]
        },
    )

    repayment_id: Id
    amount: PositiveAmount
    value_date: Day
    channel: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    currency: Currency | None = None


class ReversalIn(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "returned by the bank"}]})

    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)] = "reversed"


class AdvanceIn(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"to": "2026-03-01"}]})

    to: Day


class CloseDayIn(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"business_date": "2026-02-15"}]})

    # When given, closing is only done if this is the current business date (safe retries).
    business_date: date | None = None


ComponentName = Literal["penalty", "fee", "interest", "principal"]


class ProductIn(_In):
    """A product's full configuration (PUT replaces it; GET returns the same shape)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "waterfall": "installment_first",
                    "component_order": ["penalty", "fee", "interest", "principal"],
                    "penalty_annual_rate": None,
                    "penalty_multiplier": "1.5",
                    "grace_days": 3,
                    "overpayment": "credit",
                    "due_offsets": [3, 0],
                    "shift_due_dates": True,
                }
            ]
        },
    )

    waterfall: Literal["installment_first", "component_first"]
    component_order: list[ComponentName] = Field(min_length=4, max_length=4)
    # null: the loan's contract rate × penalty_multiplier.
    penalty_annual_rate: AnnualRate | None
    penalty_multiplier: Annotated[Rate, _at_most(Decimal(100), 4)]
    grace_days: StrictInt = Field(ge=0, le=90)
    overpayment: Literal["credit", "prepay"]
    due_offsets: list[Annotated[StrictInt, Field(ge=0, le=60)]] = Field(max_length=61)
    shift_due_dates: bool


class ProductOut(BaseModel):
    code: str
    configured: bool
    waterfall: str
    component_order: list[str]
    penalty_annual_rate: DecimalText | None
    penalty_multiplier: DecimalText
    grace_days: int
    overpayment: str
    due_offsets: list[int]
    shift_due_dates: bool
    updated_at: datetime | None
    updated_by: str | None


class ProductsOut(BaseModel):
    items: list[ProductOut]
    next_cursor: str | None


class Amounts(BaseModel):
    principal: DecimalText
    interest: DecimalText
    fee: DecimalText
    penalty: DecimalText
    total: DecimalText


class NextDue(BaseModel):
    seq: int
    due_date: date
    amount: DecimalText


class LoanOut(BaseModel):
    loan_id: str
    customer_id: str
    product: str
    branch: str
    currency: str
    principal: DecimalText
    annual_rate: DecimalText
    disbursed_on: date
    purpose: LoanPurpose | None
    status: str
    business_date: date
    dpd: int
    bucket: str
    outstanding: Amounts
    overdue: Amounts
    penalty: DecimalText
    credit_balance: DecimalText
    next_due: NextDue | None
    closed_on: date | None


class InstallmentOut(BaseModel):
    seq: int
    # The day it falls due, and the contract's (earlier when it was moved to a business day).
    due_date: date
    contract_due_date: date
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
    outstanding_principal: DecimalText
    overdue_amount: DecimalText


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
    # The weekdays that are not business days (settings); holidays and overrides are /calendar/holidays.
    weekend_days: list[str]


DayKindName = Literal["holiday", "working_day"]


class CalendarDayIn(_In):
    """A holiday, or (`working_day`) a weekend day that is a business day."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Spring Festival", "kind": "holiday"}]}
    )

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    kind: DayKindName = "holiday"


class CalendarDayOut(BaseModel):
    day: date
    kind: DayKindName
    name: str
    updated_at: datetime | None
    updated_by: str | None


class CalendarDayChangeOut(CalendarDayOut):
    # Installments whose due date the change moved (see README, the business calendar).
    reshifted: int


class CalendarDaysOut(BaseModel):
    items: list[CalendarDayOut]
    next_cursor: str | None


class NonBusinessDayOut(BaseModel):
    day: date
    reason: Literal["weekend", "holiday"]
    name: str
    # Where a due date on this day falls for a product that shifts due dates.
    shifts_to: date


class NonBusinessDaysOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    weekend_days: list[str]
    items: list[NonBusinessDayOut]
    next_cursor: str | None = None  # the shared page shape; the range is one page


class CloseDayOut(BaseModel):
    closed: date
    business_date: date
    already_closed: bool
    stats: dict[str, Any]


class AdvanceOut(BaseModel):
    business_date: date
    closed: list[CloseDayOut]
