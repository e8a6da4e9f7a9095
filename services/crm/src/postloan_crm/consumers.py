"""Event handlers of crm: core-banking.customers, repayment.loans and risk.scores."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import (
    ClassificationChangedV1,
    CustomerUpsertedV1,
    DayClosedV1,
    DelinquencyChangedV1,
    LoanClosedV1,
    LoanCuredV1,
    LoanRegisteredV1,
    PaymentDueV1,
    PaymentMissedV1,
    PaymentReceivedV1,
    PaymentReversedV1,
    RiskScoreChangedV1,
    UnknownContract,
    parse_data,
)
from postloan_common.contracts.crm import CaseCloseReason
from postloan_common.contracts.repayment import CloseReason
from postloan_common.messaging.consumer import Handler, PermanentError
from postloan_common.messaging.envelope import Envelope
from postloan_crm.domain.strategy import StrategyTable
from postloan_crm.service import cases, projections, promises, reminders
from postloan_crm.service.calendar import note_business_date
from postloan_crm.service.customers import (
    ConsentData,
    CustomerData,
    PartyData,
    PhoneData,
    upsert_customer,
)
from postloan_crm.service.events import Trace

Clock = Callable[[], datetime]
M = TypeVar("M", bound=BaseModel)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _parse(envelope: Envelope, model: type[M]) -> M:
    try:
        data = parse_data(envelope)
    except (ValidationError, UnknownContract) as exc:
        raise PermanentError(f"{envelope.type} v{envelope.version} does not match its contract: {exc}") from exc
    if not isinstance(data, model):
        raise PermanentError(f"{envelope.type} v{envelope.version} is not a {model.__name__}")
    return data


def _trace(envelope: Envelope) -> Trace:
    return Trace(
        business_date=envelope.business_date,
        correlation_id=envelope.correlation_id or str(envelope.id),
        causation_id=str(envelope.id),
    )


def customer_data(event: CustomerUpsertedV1) -> CustomerData:
    """The customer record carried by a customer-upserted event."""
    return CustomerData(
        customer_id=event.customer_id,
        name=event.name,
        national_id=event.national_id,
        timezone=event.timezone,
        language=event.language.value,
        phones=tuple(PhoneData(p.number, p.kind.value) for p in event.phones),
        emails=tuple(event.emails),
        birth_date=event.birth_date,
        segment=event.segment.value if event.segment else None,
        consents=tuple(ConsentData(c.channel.value, c.granted, c.purpose, c.recorded_on) for c in event.consents)
        if event.consents is not None
        else None,
        related_parties=tuple(
            PartyData(p.name, p.relation, p.customer_id, tuple(PhoneData(ph.number, ph.kind.value) for ph in p.phones))
            for p in event.related_parties
        )
        if event.related_parties is not None
        else None,
        address=event.address.model_dump(mode="json") if event.address else None,
    )


def build_handlers(*, strategy: StrategyTable, clock: Clock = _utcnow) -> dict[str, Handler]:
    """The handler of each consumed event type."""

    async def customer_upserted(session: AsyncSession, envelope: Envelope) -> None:
        event = _parse(envelope, CustomerUpsertedV1)
        await upsert_customer(session, data=customer_data(event), source="event")

    async def loan_registered(session: AsyncSession, envelope: Envelope) -> None:
        event = _parse(envelope, LoanRegisteredV1)
        await note_business_date(session, business_date=envelope.business_date)
        await projections.register_loan(session, event=event, as_of=envelope.business_date)

    async def payment_due(session: AsyncSession, envelope: Envelope) -> None:
        event = _parse(envelope, PaymentDueV1)
        await note_business_date(session, business_date=envelope.business_date)
        await projections.update_loan(session, loan_id=event.loan_id, customer_id=event.customer_id)
        await reminders.plan_reminder(session, due=event, source_event_id=str(envelope.id), now=clock())

    async def payment_received(session: AsyncSession, envelope: Envelope) -> None:
        event = _parse(envelope, PaymentReceivedV1)
        await note_business_date(session, business_date=envelope.business_date)
        await projections.update_loan(
            session,
            loan_id=event.loan_id,
            customer_id=event.customer_id,
            dpd=event.dpd_after,
            bucket=event.bucket_after.value,
            overdue=event.overdue_after,
            outstanding=event.outstanding_after,
            currency=event.currency,
            as_of=envelope.business_date,
        )
        await projections.apply_to_installments(
            session, loan_id=event.loan_id, amount=event.amount, paid_on=event.value_date
        )
        await cases.add_collected(session, loan_id=event.loan_id, amount=event.amount)
        await promises.on_payment(
            session,
            loan_id=event.loan_id,
            amount=event.amount,
            value_date=event.value_date,
            reversed_=False,
            trace=_trace(envelope),
        )

    async def payment_reversed(session: AsyncSession, envelope: Envelope) -> None:
        event = _parse(envelope, PaymentReversedV1)
        await projections.update_loan(
            session,
            loan_id=event.loan_id,
            customer_id=event.customer_id,
            dpd=event.dpd_after,
            bucket=event.bucket_after.value,
            overdue=event.overdue_after,
            outstanding=event.outstanding_after,
            as_of=envelope.business_date,
        )
        await projections.unapply_from_installments(session, loan_id=event.loan_id, amount=event.amount)
        await cases.add_collected(session, loan_id=event.loan_id, amount=-event.amount)
        await promises.on_payment(
            session,
            loan_id=event.loan_id,
            amount=event.amount,
            value_date=event.value_date,
            reversed_=True,
            trace=_trace(envelope),
        )

    async def payment_missed(session: AsyncSession, envelope: Envelope) -> None:
        event = _parse(envelope, PaymentMissedV1)
        await note_business_date(session, business_date=envelope.business_date)
        await projections.update_loan(
            session,
            loan_id=event.loan_id,
            customer_id=event.customer_id,
            dpd=event.dpd,
            bucket=event.bucket.value,
            currency=event.currency,
            as_of=envelope.business_date,
        )
        state = cases.Delinquency(
            event.loan_id, event.customer_id, event.bucket.value, event.dpd, event.amount_overdue, event.currency
        )
        # A further missed installment never softens the treatment (a broken promise may have raised it).
        await cases.on_delinquent(session, state=state, strategy=strategy, trace=_trace(envelope), escalate_only=True)

    async def delinquency_changed(session: AsyncSession, envelope: Envelope) -> None:
        event = _parse(envelope, DelinquencyChangedV1)
        await projections.update_loan(
            session,
            loan_id=event.loan_id,
            customer_id=event.customer_id,
            dpd=event.dpd,
            bucket=event.to_bucket.value,
            overdue=event.overdue_amount,
            outstanding=event.outstanding,
            currency=event.currency,
            as_of=envelope.business_date,
        )
        if event.to_bucket.value == "M0":
            return  # loan-cured closes the case
        state = cases.Delinquency(
            event.loan_id, event.customer_id, event.to_bucket.value, event.dpd, event.overdue_amount, event.currency
        )
        await cases.on_delinquent(session, state=state, strategy=strategy, trace=_trace(envelope), escalate_only=False)

    async def loan_cured(session: AsyncSession, envelope: Envelope) -> None:
        event = _parse(envelope, LoanCuredV1)
        await projections.update_loan(
            session,
            loan_id=event.loan_id,
            customer_id=event.customer_id,
            dpd=0,
            bucket="M0",
            overdue=0,
            outstanding=event.outstanding,
            as_of=envelope.business_date,
        )
        await cases.close_for_loan(
            session,
            loan_id=event.loan_id,
            reason=CaseCloseReason.CURED,
            closed_on=event.cured_on,
            trace=_trace(envelope),
        )

    async def loan_closed(session: AsyncSession, envelope: Envelope) -> None:
        event = _parse(envelope, LoanClosedV1)
        written_off = event.reason is CloseReason.WRITTEN_OFF
        await projections.update_loan(
            session,
            loan_id=event.loan_id,
            customer_id=event.customer_id,
            status="written_off" if written_off else "closed",
            closed_on=event.closed_on,
            dpd=0 if not written_off else None,
            overdue=0,
            outstanding=0,
            as_of=envelope.business_date,
        )
        await projections.settle_all_installments(session, loan_id=event.loan_id, on=event.closed_on)
        reason = CaseCloseReason.WRITTEN_OFF if written_off else CaseCloseReason.LOAN_CLOSED
        await cases.close_for_loan(
            session, loan_id=event.loan_id, reason=reason, closed_on=event.closed_on, trace=_trace(envelope)
        )

    async def day_closed(session: AsyncSession, envelope: Envelope) -> None:
        event = _parse(envelope, DayClosedV1)
        await note_business_date(session, business_date=event.business_date + timedelta(days=1))
        # Written to every partition: the first copy does the work, the others find nothing left to do.
        await promises.close_day(session, business_date=event.business_date, trace=_trace(envelope))
        await projections.plan_care(session, business_date=event.business_date)

    async def risk_score_changed(session: AsyncSession, envelope: Envelope) -> None:
        event = _parse(envelope, RiskScoreChangedV1)
        await projections.note_score(session, event=event)
        await cases.on_risk_changed(session, loan_id=event.loan_id, strategy=strategy, trace=_trace(envelope))

    async def classification_changed(session: AsyncSession, envelope: Envelope) -> None:
        event = _parse(envelope, ClassificationChangedV1)
        await projections.note_classification(session, event=event)
        await cases.on_risk_changed(session, loan_id=event.loan_id, strategy=strategy, trace=_trace(envelope))

    return {
        "customer-upserted": customer_upserted,
        "loan-registered": loan_registered,
        "payment-due": payment_due,
        "payment-received": payment_received,
        "payment-reversed": payment_reversed,
        "payment-missed": payment_missed,
        "delinquency-changed": delinquency_changed,
        "loan-cured": loan_cured,
        "loan-closed": loan_closed,
        "day-closed": day_closed,
        "risk-score-changed": risk_score_changed,
        "classification-changed": classification_changed,
    }
