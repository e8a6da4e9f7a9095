"""Events of the core banking system: `core-banking.loans` (key: loan id) and `core-banking.customers`
(key: customer id; an `external-signal`'s key is its subject_id). `loan-booked`, `repayment-posted` and
`customer-upserted` carry the same payloads as `POST /v1/loans`, `POST /v1/loans/{loan_id}/repayments` and
`POST /v1/customers`, `external-signal` that of `POST /v1/external-signals` (docs/architecture.md, REST).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from postloan_common.contracts.common import (
    ZERO,
    Code,
    ContactChannel,
    Currency,
    EventData,
    Id,
    LoanBooking,
    LoanPurpose,
    Money,
    PositiveMoney,
    Rate,
    Severity,
    SignedMeasure,
    Text,
    TimeZone,
)


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class RepaymentMethod(StrEnum):
    ANNUITY = "annuity"
    EQUAL_PRINCIPAL = "equal_principal"
    INTEREST_ONLY = "interest_only"


class Installment(_Part):
    seq: int = Field(ge=1)
    due_date: date
    principal: Money
    interest: Money
    fee: Money = ZERO


class Terms(_Part):
    """Terms from which the receiver generates the schedule."""

    method: RepaymentMethod
    months: int = Field(ge=1, le=600)
    first_due_date: date


def _check_schedule(installments: tuple[Installment, ...] | None, terms: Terms | None) -> None:
    """Exactly one of `installments` (an explicit schedule) or `terms` (generate one)."""
    if (installments is None) == (terms is None):
        raise ValueError("give exactly one of 'installments' and 'terms'")
    if installments is not None:
        if not installments:
            raise ValueError("'installments' must not be empty")
        seqs = [i.seq for i in installments]
        if len(set(seqs)) != len(seqs):
            raise ValueError("installment 'seq' values must be unique")


class _ScheduleChoice(_Part):
    """Trailing fields of an event that carries a schedule: an explicit one, or the terms to generate one."""

    installments: tuple[Installment, ...] | None = None
    terms: Terms | None = None

    @model_validator(mode="after")
    def _one_schedule(self) -> Self:
        _check_schedule(self.installments, self.terms)
        return self


# Bases are listed schedule-last: pydantic orders fields from the last base to the first.
class LoanBookedV1(_ScheduleChoice, LoanBooking):
    """A loan was disbursed in core banking, with its schedule or the terms to generate one."""

    event_type: ClassVar[str] = "loan-booked"
    event_version: ClassVar[int] = 1

    purpose: LoanPurpose | None = None


class RepaymentPostedV1(EventData):
    """Money for a loan arrived in core banking; `value_date` may precede the posting (back-valued)."""

    event_type: ClassVar[str] = "repayment-posted"
    event_version: ClassVar[int] = 1

    loan_id: Id
    repayment_id: Id
    amount: PositiveMoney
    value_date: date
    channel: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    currency: Currency | None = None


class RepaymentReversedV1(EventData):
    """A posted repayment was reversed (e.g. a bounced debit)."""

    event_type: ClassVar[str] = "repayment-reversed"
    event_version: ClassVar[int] = 1

    loan_id: Id
    repayment_id: Id
    reason: Text
    reversed_on: date


class _Restructure(EventData):
    """Leading fields of a restructuring, before its new schedule."""

    loan_id: Id
    restructure_id: Id
    restructured_on: date
    reason: Text
    outstanding_principal: PositiveMoney
    annual_rate: Rate | None = None  # None: the contract rate stays


class LoanRestructuredV1(_ScheduleChoice, _Restructure):
    """The remaining balance was rescheduled; the new schedule replaces all unpaid installments."""

    event_type: ClassVar[str] = "loan-restructured"
    event_version: ClassVar[int] = 1


class LoanWrittenOffV1(EventData):
    """The loan's remaining balance was written off."""

    event_type: ClassVar[str] = "loan-written-off"
    event_version: ClassVar[int] = 1

    loan_id: Id
    written_off_on: date
    principal: Money
    interest: Money
    fee: Money
    penalty: Money
    reason: Text


class PhoneKind(StrEnum):
    MOBILE = "mobile"
    HOME = "home"
    WORK = "work"
    OTHER = "other"


class Phone(_Part):
    number: Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 \-]{4,24}$")]
    kind: PhoneKind = PhoneKind.MOBILE


class Language(StrEnum):
    ZH_CN = "zh-CN"
    EN = "en"


class Segment(StrEnum):
    RETAIL = "retail"
    CORPORATE = "corporate"


class Consent(_Part):
    """Whether the customer may be contacted on a channel for a purpose (opt-outs are `granted: false`)."""

    channel: ContactChannel
    purpose: Annotated[str, StringConstraints(min_length=1, max_length=32)] = "collection"
    granted: bool
    recorded_on: date | None = None


class RelatedParty(_Part):
    """A guarantor, spouse, emergency contact…; contacted only under the third-party rules."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    relation: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    customer_id: Id | None = None
    phones: tuple[Phone, ...] = ()


class Address(_Part):
    line1: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    line2: Annotated[str, StringConstraints(max_length=200)] | None = None
    city: Annotated[str, StringConstraints(max_length=100)] | None = None
    province: Annotated[str, StringConstraints(max_length=100)] | None = None
    postal_code: Annotated[str, StringConstraints(max_length=20)] | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None


Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class CustomerUpsertedV1(EventData):
    """A customer was created or changed in core banking; the payload is the full current record."""

    event_type: ClassVar[str] = "customer-upserted"
    event_version: ClassVar[int] = 1

    customer_id: Id
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    national_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    phones: tuple[Phone, ...] = ()
    emails: tuple[Email, ...] = ()
    timezone: TimeZone
    language: Language
    birth_date: date | None = None
    segment: Segment | None = None
    consents: tuple[Consent, ...] | None = None
    related_parties: tuple[RelatedParty, ...] | None = None
    address: Address | None = None
    # The customer's industry code (e.g. GB/T 4754 "C3130"): industry signals apply to its customers.
    industry: Code | None = None


class SignalSubject(StrEnum):
    """What a signal is about; an `industry` signal's subject_id is the industry code of customer-upserted."""

    CUSTOMER = "customer"
    LOAN = "loan"
    INDUSTRY = "industry"


class SignalKind(StrEnum):
    COURT_JUDGMENT = "court_judgment"
    ENFORCEMENT_LISTING = "enforcement_listing"
    BUSINESS_REGISTRATION_CHANGE = "business_registration_change"
    BUREAU_INQUIRIES = "bureau_inquiries"
    BUREAU_DELINQUENCY = "bureau_delinquency"
    INDUSTRY_INDEX = "industry_index"
    ADVERSE_NEWS = "adverse_news"


DetailValue = Annotated[str, StringConstraints(max_length=500)] | int | bool | None
# A bounded flat object: at most 20 keys of at most 64 characters, scalar values (no floats: numbers
# that matter travel in `value` as a decimal).
Details = Annotated[dict[Code, DetailValue], Field(max_length=20)]


class ExternalSignalV1(EventData):
    """Something outside the bank's own books about a customer, a loan or an industry (issue 15, item 5)."""

    event_type: ClassVar[str] = "external-signal"
    event_version: ClassVar[int] = 1

    signal_id: Id
    subject: SignalSubject
    subject_id: Annotated[Id, Field(description="the customer id, the loan id or the industry code")]
    source: Annotated[Code, Field(description="who reported it: a court registry, a bureau, a news feed…")]
    kind: SignalKind
    severity: Severity
    observed_on: Annotated[date, Field(description="when the source observed it, not when it was sent")]
    value: Annotated[SignedMeasure | None, Field(description="a number of inquiries, days past due, an index…")] = None
    details: Annotated[Details | None, Field(description="flat; `case_id` and `status` group and close cases")] = None

    @model_validator(mode="after")
    def _industry_only_for_index(self) -> Self:
        # An index describes an industry, and an industry has nothing but an index.
        if (self.kind is SignalKind.INDUSTRY_INDEX) != (self.subject is SignalSubject.INDUSTRY):
            raise ValueError("kind industry_index goes with subject industry, and only with it")
        if self.kind is SignalKind.INDUSTRY_INDEX and self.value is None:
            raise ValueError("an industry_index signal carries its index in value")
        return self


LOAN_EVENTS: tuple[type[EventData], ...] = (
    LoanBookedV1,
    RepaymentPostedV1,
    RepaymentReversedV1,
    LoanRestructuredV1,
    LoanWrittenOffV1,
)
CUSTOMER_EVENTS: tuple[type[EventData], ...] = (CustomerUpsertedV1, ExternalSignalV1)
