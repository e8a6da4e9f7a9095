"""Fineract business events to postloan `core-banking.*` events (the table in the service README)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from postloan_common.catalog import CORE_BANKING_CUSTOMERS, CORE_BANKING_LOANS
from postloan_common.contracts.common import EventData
from postloan_common.contracts.core_banking import (
    CustomerUpsertedV1,
    LoanBookedV1,
    LoanRestructuredV1,
    LoanWrittenOffV1,
    RepaymentPostedV1,
    RepaymentReversedV1,
)
from postloan_common.messaging.envelope import Envelope
from postloan_fineract_connector.domain import payloads as p
from postloan_fineract_connector.domain.messages import FineractEvent, FineractMessage

SOURCE = "fineract-connector"
# Deterministic envelope ids: uuid5 of the idempotency key, so a re-sent message produces the same ids.
ENVELOPE_NAMESPACE = uuid.UUID("2b7d5f4e-8c1a-4e0b-9f6d-3a1c5e7b9d20")

BOOKING = frozenset({"LoanDisbursalBusinessEvent"})
CUSTOMER = frozenset({"ClientCreateBusinessEvent", "ClientActivateBusinessEvent"})
# Money-in transactions counted as repayments by default; a bank narrows or widens the set.
DEFAULT_REPAYMENTS = frozenset(
    {
        "LoanTransactionMakeRepaymentPostBusinessEvent",
        "LoanTransactionDownPaymentPostBusinessEvent",
        "LoanTransactionRecoveryPaymentPostBusinessEvent",
        "LoanTransactionGoodwillCreditPostBusinessEvent",
    }
)
ADJUSTMENT = frozenset({"LoanAdjustTransactionBusinessEvent"})
WRITE_OFF = frozenset({"LoanWrittenOffPostBusinessEvent", "LoanChargeOffPostBusinessEvent"})
RESTRUCTURE = frozenset(
    {
        "LoanReAgeBusinessEvent",
        "LoanReAmortizeBusinessEvent",
        "LoanRescheduledDueAdjustScheduleBusinessEvent",
        "LoanRescheduledDueCalendarChangeBusinessEvent",
        "LoanRescheduledDueHolidayBusinessEvent",
    }
)
# Transaction types (LoanTransactionType codes) whose reversal is a repayment-reversed.
DEFAULT_REPAYMENT_CODES = frozenset(
    {
        "loanTransactionType.repayment",
        "loanTransactionType.downPayment",
        "loanTransactionType.recoveryRepayment",
        "loanTransactionType.goodwillCredit",
    }
)


class MappingError(ValueError):
    """A Fineract event that cannot become a valid postloan event; dead-lettered with this reason."""


@dataclass(frozen=True)
class MappingOptions:
    """What a bank configures: which money-in counts as a repayment, and customer defaults."""

    repayment_events: frozenset[str] = DEFAULT_REPAYMENTS
    repayment_codes: frozenset[str] = DEFAULT_REPAYMENT_CODES
    timezone: str = "Asia/Shanghai"
    language: str = "zh-CN"
    channel: str = "fineract"


@dataclass(frozen=True)
class Outgoing:
    topic: str
    envelope: Envelope


@dataclass
class _Context:
    message: FineractMessage
    index: int
    options: MappingOptions
    produced: list[Outgoing] = field(default_factory=list)

    @property
    def tenant(self) -> str:
        return self.message.tenant_id

    def emit(self, topic: str, data: EventData, subject: str) -> None:
        key = f"{self.message.idempotency_key}:{self.index}:{len(self.produced)}"
        # Built in one go (not make_envelope + a copy): the id and time are known, and this is per event.
        envelope = Envelope(
            id=uuid.uuid5(ENVELOPE_NAMESPACE, key),
            type=data.event_type,
            version=data.event_version,
            source=SOURCE,
            subject=subject,
            time=self.message.created_at,
            business_date=self.message.business_date,
            correlation_id=self.message.idempotency_key[:200],
            data=data.model_dump(mode="json"),
        )
        self.produced.append(Outgoing(topic, envelope))


def loan_id(tenant: str, loan: int) -> str:
    """postloan's id of a Fineract loan."""
    return f"fineract:{tenant}:{loan}"


def customer_id(tenant: str, client: int) -> str:
    """postloan's id of a Fineract client."""
    return f"fineract:{tenant}:client:{client}"


def repayment_id(tenant: str, transaction: int) -> str:
    """postloan's id of a Fineract loan transaction."""
    return f"fineract:{tenant}:txn:{transaction}"


def classify(event_type: str, options: MappingOptions) -> str:
    """`mapped` when the connector maps `event_type`, else `skipped` (postloan computes it or needs it not)."""
    mapped = BOOKING | CUSTOMER | ADJUSTMENT | WRITE_OFF | RESTRUCTURE | options.repayment_events
    return "mapped" if event_type in mapped else "skipped"


def map_message(message: FineractMessage, options: MappingOptions) -> list[Outgoing]:
    """Every postloan event a Fineract message maps to, in order; [] when it maps to none."""
    produced: list[Outgoing] = []
    for index, event in enumerate(message.events):
        ctx = _Context(message, index, options)
        mapper = _mapper(event.type, options)
        if mapper is not None and event.payload is not None:
            try:
                mapper(ctx, event.payload)
            except ValidationError as exc:
                raise MappingError(f"{event.type}: {_validation_summary(exc)}") from None
            except p.PayloadError as exc:
                raise MappingError(f"{event.type}: {exc}") from None
        produced.extend(ctx.produced)
    return produced


def _mapper(event_type: str, options: MappingOptions) -> Callable[[_Context, dict[str, Any]], None] | None:
    if event_type in BOOKING:
        return _booked
    if event_type in CUSTOMER:
        return _customer
    if event_type in options.repayment_events:
        return _repayment
    if event_type in ADJUSTMENT:
        return _adjustment
    if event_type in WRITE_OFF:
        return _written_off
    if event_type in RESTRUCTURE:
        return _restructured
    return None


def _booked(ctx: _Context, loan: dict[str, Any]) -> None:
    places, currency = p.currency_of(loan)
    disbursed_on = p.required_date(p.at(loan, "timeline", "actualDisbursementDate"), "timeline.actualDisbursementDate")
    data = LoanBookedV1(
        loan_id=loan_id(ctx.tenant, p.required(loan, "id")),
        customer_id=customer_id(ctx.tenant, p.required(loan, "clientId")),
        product=p.product_of(loan),
        branch=p.branch_of(loan),
        currency=currency,
        principal=p.amount(p.required(loan, "principal"), places, "principal"),
        annual_rate=p.annual_rate(loan),
        disbursed_on=disbursed_on,
        installments=p.installments(loan, places, after=None),
    )
    ctx.emit(CORE_BANKING_LOANS, data, data.loan_id)


def _customer(ctx: _Context, client: dict[str, Any]) -> None:
    cid = customer_id(ctx.tenant, p.required(client, "id"))
    data = CustomerUpsertedV1.model_validate(p.customer_fields(client, cid, ctx.options.timezone, ctx.options.language))
    ctx.emit(CORE_BANKING_CUSTOMERS, data, data.customer_id)


def _posted(ctx: _Context, txn: dict[str, Any]) -> None:
    places, currency = p.currency_of(txn)
    data = RepaymentPostedV1(
        loan_id=loan_id(ctx.tenant, p.required(txn, "loanId")),
        repayment_id=repayment_id(ctx.tenant, p.required(txn, "id")),
        amount=p.amount(p.required(txn, "amount"), places, "amount"),
        value_date=p.required_date(txn.get("date"), "date"),
        channel=p.channel_of(txn, ctx.options.channel),
        currency=currency,
    )
    ctx.emit(CORE_BANKING_LOANS, data, data.loan_id)


def is_reversed(txn: dict[str, Any]) -> bool:
    """Fineract's own test: manually reversed or carrying a reversal date (the `reversed` flag since 2025)."""
    return bool(txn.get("reversed") or txn.get("manuallyReversed") or txn.get("reversedOnDate"))


def _repayment(ctx: _Context, txn: dict[str, Any]) -> None:
    if not is_reversed(txn):
        _posted(ctx, txn)


def _adjustment(ctx: _Context, adjustment: dict[str, Any]) -> None:
    old = p.required(adjustment, "transactionToAdjust")
    if p.type_code(old) not in ctx.options.repayment_codes:
        return
    reversed_on = p.optional_date(old.get("reversedOnDate"), "reversedOnDate") or ctx.message.business_date
    data = RepaymentReversedV1(
        loan_id=loan_id(ctx.tenant, p.required(old, "loanId")),
        repayment_id=repayment_id(ctx.tenant, p.required(old, "id")),
        reason="reversed in Fineract",
        reversed_on=reversed_on,
    )
    ctx.emit(CORE_BANKING_LOANS, data, data.loan_id)
    new = adjustment.get("newTransactionDetail")
    if new is not None and p.type_code(new) in ctx.options.repayment_codes:
        _posted(ctx, new)  # an adjusted repayment is a reversal and a fresh posting


def _written_off(ctx: _Context, txn: dict[str, Any]) -> None:
    places, _currency = p.currency_of(txn)
    parts = {
        name: p.amount(txn.get(field_) or Decimal(0), places, field_)
        for name, field_ in (
            ("principal", "principalPortion"),
            ("interest", "interestPortion"),
            ("fee", "feeChargesPortion"),
            ("penalty", "penaltyChargesPortion"),
        )
    }
    kind = "charged off" if p.type_code(txn) == "loanTransactionType.chargeOff" else "written off"
    data = LoanWrittenOffV1(
        loan_id=loan_id(ctx.tenant, p.required(txn, "loanId")),
        written_off_on=p.required_date(txn.get("date"), "date"),
        reason=f"{kind} in Fineract",
        **parts,
    )
    ctx.emit(CORE_BANKING_LOANS, data, data.loan_id)


def _restructured(ctx: _Context, loan: dict[str, Any]) -> None:
    places, _currency = p.currency_of(loan)
    on: date = ctx.message.business_date
    restructure = uuid.uuid5(ENVELOPE_NAMESPACE, f"{ctx.message.idempotency_key}:{ctx.index}").hex[:16]
    installments = p.installments(loan, places, after=on)
    data = LoanRestructuredV1(
        loan_id=loan_id(ctx.tenant, p.required(loan, "id")),
        restructure_id=f"fineract:{restructure}",
        restructured_on=on,
        reason=p.restructure_reason(ctx.message.events[ctx.index].type),
        outstanding_principal=sum((i.principal for i in installments), Decimal(0)),
        annual_rate=p.annual_rate(loan),
        installments=installments,
    )
    ctx.emit(CORE_BANKING_LOANS, data, data.loan_id)


def _validation_summary(exc: ValidationError) -> str:
    """Which fields failed and why, never their values (they may be PII)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False, include_context=False)[:10]
    )


def event_summary(event: FineractEvent) -> str:
    """`type (dataschema)`, for logs and dead letters."""
    return f"{event.type} ({event.dataschema})"
