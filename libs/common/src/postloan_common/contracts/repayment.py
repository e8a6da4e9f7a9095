"""Events of repayment-monitor on `repayment.loans` (key: loan id)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from postloan_common.contracts.common import (
    ZERO,
    Bucket,
    Count,
    Currency,
    Dpd,
    EventData,
    Id,
    LoanBooking,
    LoanEvent,
    LoanPurpose,
    Money,
    PositiveMoney,
    Text,
)


class LoanRegisteredV1(LoanBooking):
    """A loan and its schedule are now monitored (after `loan-booked` or `POST /v1/loans`)."""

    event_type: ClassVar[str] = "loan-registered"
    event_version: ClassVar[int] = 1

    installment_count: int = Field(ge=1)
    first_due_date: date
    maturity_date: date
    purpose: LoanPurpose | None = None


class _InstallmentEvent(LoanEvent):
    """Leading fields of the events about one installment of a loan."""

    installment_seq: int = Field(ge=1)
    due_date: date


class PaymentDueV1(_InstallmentEvent):
    """A reminder point before (or on) an installment's due date (default offsets T−7, T−3, T−1, T0)."""

    event_type: ClassVar[str] = "payment-due"
    event_version: ClassVar[int] = 1

    amount_due: Money
    currency: Currency
    days_before_due: int = Field(ge=0)
    payment_reference: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Allocation(BaseModel):
    """How a repayment was split by the waterfall; `credit` is the overpayment kept as a credit balance."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    penalty: Money
    fee: Money
    interest: Money
    principal: Money
    credit: Money


class _RepaymentEvent(LoanEvent):
    """Leading fields of the events about one repayment of a loan."""

    repayment_id: Id
    amount: PositiveMoney
    currency: Currency
    value_date: date


class PaymentReceivedV1(_RepaymentEvent):
    """A repayment was applied to the loan; the `*_after` fields are the state as of the business date."""

    event_type: ClassVar[str] = "payment-received"
    event_version: ClassVar[int] = 1

    allocation: Allocation
    outstanding_after: Money
    overdue_after: Money
    dpd_after: Dpd
    bucket_after: Bucket


class RecoveryReceivedV1(_RepaymentEvent):
    """Money came in on a written-off loan: recorded as a recovery, allocated to nothing, the loan stays written off."""

    event_type: ClassVar[str] = "recovery-received"
    event_version: ClassVar[int] = 1

    received_on: date  # the business date it was posted on
    channel: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class PaymentReversedV1(_RepaymentEvent):
    """A posted repayment was reversed; the loan was recomputed as if it had never been made."""

    event_type: ClassVar[str] = "payment-reversed"
    event_version: ClassVar[int] = 1

    reversed_on: date
    reason: Text
    outstanding_after: Money
    overdue_after: Money
    dpd_after: Dpd
    bucket_after: Bucket


class LoanRescheduledV1(LoanEvent):
    """The loan was restructured in core banking: its unsettled installments were replaced."""

    event_type: ClassVar[str] = "loan-rescheduled"
    event_version: ClassVar[int] = 1

    restructure_id: Id
    restructured_on: date
    reason: Text
    outstanding_principal: Money
    installment_count: int = Field(ge=1)
    first_due_date: date
    maturity_date: date
    dpd_before: Dpd
    bucket_before: Bucket


class PaymentMissedV1(_InstallmentEvent):
    """An installment is still unpaid when its grace period ends."""

    event_type: ClassVar[str] = "payment-missed"
    event_version: ClassVar[int] = 1

    amount_overdue: PositiveMoney
    currency: Currency
    dpd: Dpd
    bucket: Bucket


class DelinquencyChangedV1(LoanEvent):
    """The loan moved from one delinquency bucket to another (either direction)."""

    event_type: ClassVar[str] = "delinquency-changed"
    event_version: ClassVar[int] = 1

    from_bucket: Bucket
    to_bucket: Bucket
    dpd: Dpd
    overdue_amount: Money
    outstanding: Money
    currency: Currency


class LoanCuredV1(LoanEvent):
    """The loan returned to DPD 0 (nothing overdue)."""

    event_type: ClassVar[str] = "loan-cured"
    event_version: ClassVar[int] = 1

    cured_on: date
    from_bucket: Bucket
    previous_dpd: Dpd
    outstanding: Money
    currency: Currency


class CloseReason(StrEnum):
    PAID_OFF = "paid_off"
    PREPAID = "prepaid"
    WRITTEN_OFF = "written_off"


class LoanClosedV1(LoanEvent):
    """Nothing is owed on the loan any more."""

    event_type: ClassVar[str] = "loan-closed"
    event_version: ClassVar[int] = 1

    closed_on: date
    reason: CloseReason
    credit_balance: Money = ZERO  # refunded or kept on account


class DayClosedV1(EventData):
    """Close of day for `business_date` finished; written once to every partition of `repayment.loans`."""

    event_type: ClassVar[str] = "day-closed"
    event_version: ClassVar[int] = 1

    business_date: date
    partition: int = Field(ge=0)
    partitions: int = Field(ge=1)
    loans_processed: Count
    payments_due: Count
    payments_missed: Count
    delinquency_changes: Count


EVENTS: tuple[type[EventData], ...] = (
    LoanRegisteredV1,
    PaymentDueV1,
    PaymentReceivedV1,
    PaymentReversedV1,
    RecoveryReceivedV1,
    PaymentMissedV1,
    DelinquencyChangedV1,
    LoanCuredV1,
    LoanClosedV1,
    LoanRescheduledV1,
    DayClosedV1,
)
