"""Event handlers of crm: core-banking.customers, repayment.loans and risk.scores."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
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
from postloan_common.messaging.consumer import BatchHook, Handler, PermanentError
from postloan_common.messaging.envelope import Envelope
from postloan_crm.domain.strategy import CURRENT_BUCKET, StrategyTable, is_delinquent
from postloan_crm.service import cases, projections, promises, reminders
from postloan_crm.service.calendar import note_business_date
from postloan_crm.service.customers import (
    ConsentData,
    CustomerData,
    PartyData,
    PhoneData,
    upsert_customers,
)
from postloan_crm.service.events import Journal, Trace

Clock = Callable[[], datetime]
M = TypeVar("M", bound=BaseModel)
ZERO = Decimal("0.00")


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
    """The handler of each consumed event type; a type handled in runs applies a run of one event."""
    handlers: dict[str, Handler] = {
        name: _one_at_a_time(batch) for name, batch in build_batch_handlers(strategy=strategy, clock=clock).items()
    }

    async def day_closed(session: AsyncSession, envelope: Envelope) -> None:
        event = _parse(envelope, DayClosedV1)
        await note_business_date(session, business_date=event.business_date + timedelta(days=1))
        # Written to every partition: the first copy does the work, the others find nothing left to do.
        await promises.close_day(session, business_date=event.business_date, trace=_trace(envelope), strategy=strategy)
        await projections.plan_care(session, business_date=event.business_date)

    return handlers | {"day-closed": day_closed}


def build_batch_handlers(*, strategy: StrategyTable, clock: Clock = _utcnow) -> dict[str, BatchHook]:
    """The handlers of the high-volume types, each applying a run of consecutive events of its type at once.

    A run is read once, decided event by event in memory by the same rules, and written back with a few
    set-based statements; every event of a run is parsed before anything is written, so bad data raises
    PermanentError and the consumer re-applies the batch event by event to dead-letter only that event.
    """

    async def customers_upserted(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = _parse_run(envelopes, CustomerUpsertedV1)
        await upsert_customers(session, records=[customer_data(e) for e, _ in events], source="event")

    async def loans_registered(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = _parse_run(envelopes, LoanRegisteredV1)
        await note_business_date(session, business_date=_latest_business_date(envelopes))
        await projections.register_loans(session, registered=[(e, envelope.business_date) for e, envelope in events])

    async def payments_due(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = _parse_run(envelopes, PaymentDueV1)
        await note_business_date(session, business_date=_latest_business_date(envelopes))
        loans = projections.LoanChanges()
        for event, _ in events:
            loans.say(event.loan_id, customer_id=event.customer_id)
        await loans.write(session)
        await reminders.plan_reminders(session, dues=[(e, str(envelope.id)) for e, envelope in events], now=clock())

    async def payments_received(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = _parse_run(envelopes, PaymentReceivedV1)
        await note_business_date(session, business_date=_latest_business_date(envelopes))
        run = await _PaymentRun.load(session, [e.loan_id for e, _ in events], strategy=strategy)
        for event, envelope in events:
            run.loans.say(
                event.loan_id,
                customer_id=event.customer_id,
                dpd=event.dpd_after,
                bucket=event.bucket_after.value,
                overdue=event.overdue_after,
                outstanding=event.outstanding_after,
                currency=event.currency,
                as_of=envelope.business_date,
            )
            run.installments.apply(event.loan_id, amount=event.amount, paid_on=event.value_date)
            run.open_cases.add_collected(event.loan_id, event.amount)
            run.open_promises.on_payment(
                loan_id=event.loan_id,
                amount=event.amount,
                value_date=event.value_date,
                reversed_=False,
                trace=_trace(envelope),
            )
        await run.write(session)

    async def payments_reversed(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = _parse_run(envelopes, PaymentReversedV1)
        run = await _PaymentRun.load(session, [e.loan_id for e, _ in events], strategy=strategy)
        for event, envelope in events:
            run.loans.say(
                event.loan_id,
                customer_id=event.customer_id,
                dpd=event.dpd_after,
                bucket=event.bucket_after.value,
                overdue=event.overdue_after,
                outstanding=event.outstanding_after,
                as_of=envelope.business_date,
            )
            run.installments.unapply(event.loan_id, amount=event.amount)
            run.open_cases.add_collected(event.loan_id, -event.amount)
            run.open_promises.on_payment(
                loan_id=event.loan_id,
                amount=event.amount,
                value_date=event.value_date,
                reversed_=True,
                trace=_trace(envelope),
            )
        await run.write(session)

    async def treat_delinquent(
        session: AsyncSession, states: list[tuple[cases.Delinquency, Envelope]], *, escalate_only: bool
    ) -> None:
        """Open or adjust the collection cases of delinquent loans, in one read and one write."""
        journal = Journal()
        book = await cases.CaseBook.load(
            session, [state.loan_id for state, _ in states], strategy=strategy, journal=journal, with_risk=True
        )
        for state, envelope in states:
            await book.on_delinquent(state, trace=_trace(envelope), escalate_only=escalate_only)
        await book.write()
        await journal.write(session)

    async def payments_missed(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = _parse_run(envelopes, PaymentMissedV1)
        await note_business_date(session, business_date=_latest_business_date(envelopes))
        loans = projections.LoanChanges()
        for event, envelope in events:
            loans.say(
                event.loan_id,
                customer_id=event.customer_id,
                dpd=event.dpd,
                bucket=event.bucket.value,
                currency=event.currency,
                as_of=envelope.business_date,
            )
        await loans.write(session)
        states = [
            (
                cases.Delinquency(e.loan_id, e.customer_id, e.bucket.value, e.dpd, e.amount_overdue, e.currency),
                envelope,
            )
            for e, envelope in events
        ]
        # A further missed installment never softens the treatment (a broken promise may have raised it).
        await treat_delinquent(session, states, escalate_only=True)

    async def delinquencies_changed(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = _parse_run(envelopes, DelinquencyChangedV1)
        loans = projections.LoanChanges()
        for event, envelope in events:
            loans.say(
                event.loan_id,
                customer_id=event.customer_id,
                dpd=event.dpd,
                bucket=event.to_bucket.value,
                overdue=event.overdue_amount,
                outstanding=event.outstanding,
                currency=event.currency,
                as_of=envelope.business_date,
            )
        await loans.write(session)
        # A move back to the current bucket is handled by loan-cured, which closes the case.
        delinquent = [(e, envelope) for e, envelope in events if is_delinquent(e.to_bucket.value)]
        states = [
            (
                cases.Delinquency(e.loan_id, e.customer_id, e.to_bucket.value, e.dpd, e.overdue_amount, e.currency),
                envelope,
            )
            for e, envelope in delinquent
        ]
        await treat_delinquent(session, states, escalate_only=False)

    async def loans_cured(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = _parse_run(envelopes, LoanCuredV1)
        loans = projections.LoanChanges()
        journal = Journal()
        book = await cases.CaseBook.load(session, [e.loan_id for e, _ in events], strategy=strategy, journal=journal)
        for event, envelope in events:
            loans.say(
                event.loan_id,
                customer_id=event.customer_id,
                dpd=0,
                bucket=CURRENT_BUCKET,
                overdue=ZERO,
                outstanding=event.outstanding,
                as_of=envelope.business_date,
            )
            book.close(event.loan_id, reason=CaseCloseReason.CURED, closed_on=event.cured_on, trace=_trace(envelope))
        await loans.write(session)
        await book.write()
        await journal.write(session)

    async def loans_closed(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = _parse_run(envelopes, LoanClosedV1)
        run = await _PaymentRun.load(session, [e.loan_id for e, _ in events], strategy=strategy, promises_too=False)
        for event, envelope in events:
            written_off = event.reason is CloseReason.WRITTEN_OFF
            run.loans.say(
                event.loan_id,
                customer_id=event.customer_id,
                status="written_off" if written_off else "closed",
                closed_on=event.closed_on,
                dpd=None if written_off else 0,
                overdue=ZERO,
                outstanding=ZERO,
                as_of=envelope.business_date,
            )
            run.installments.settle(event.loan_id, on=event.closed_on)
            reason = CaseCloseReason.WRITTEN_OFF if written_off else CaseCloseReason.LOAN_CLOSED
            run.open_cases.close(event.loan_id, reason=reason, closed_on=event.closed_on, trace=_trace(envelope))
        await run.write(session)

    async def risk_scores_changed(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = _parse_run(envelopes, RiskScoreChangedV1)
        journal = Journal()
        book = await cases.CaseBook.load(
            session, [e.loan_id for e, _ in events], strategy=strategy, journal=journal, with_risk=True
        )
        await projections.note_scores(session, events=[e for e, _ in events])
        for event, envelope in events:
            book.note_risk(event.loan_id, pd=event.pd)
            await book.on_risk_changed(event.loan_id, trace=_trace(envelope))
        await book.write()
        await journal.write(session)

    async def classifications_changed(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = _parse_run(envelopes, ClassificationChangedV1)
        journal = Journal()
        book = await cases.CaseBook.load(
            session, [e.loan_id for e, _ in events], strategy=strategy, journal=journal, with_risk=True
        )
        await projections.note_classifications(session, events=[e for e, _ in events])
        for event, envelope in events:
            book.note_risk(event.loan_id, classification=event.to_classification.value)
            await book.on_risk_changed(event.loan_id, trace=_trace(envelope))
        await book.write()
        await journal.write(session)

    return {
        "customer-upserted": customers_upserted,
        "loan-registered": loans_registered,
        "payment-due": payments_due,
        "payment-received": payments_received,
        "payment-reversed": payments_reversed,
        "payment-missed": payments_missed,
        "delinquency-changed": delinquencies_changed,
        "loan-cured": loans_cured,
        "loan-closed": loans_closed,
        "risk-score-changed": risk_scores_changed,
        "classification-changed": classifications_changed,
    }


@dataclass
class _PaymentRun:
    """What a run of payments (or closings) changes: loan projections, installments, cases and promises."""

    journal: Journal
    loans: projections.LoanChanges
    installments: projections.InstallmentBook
    open_cases: cases.CaseBook
    open_promises: promises.PromiseBook

    @classmethod
    async def load(
        cls, session: AsyncSession, loan_ids: Sequence[str], *, strategy: StrategyTable, promises_too: bool = True
    ) -> _PaymentRun:
        journal = Journal()
        return cls(
            journal=journal,
            loans=projections.LoanChanges(),
            installments=await projections.InstallmentBook.load(session, loan_ids),
            open_cases=await cases.CaseBook.load(session, loan_ids, strategy=strategy, journal=journal),
            open_promises=await promises.PromiseBook.load(session, loan_ids if promises_too else (), journal=journal),
        )

    async def write(self, session: AsyncSession) -> None:
        await self.loans.write(session)
        await self.installments.write(session)
        await self.open_cases.write()
        await self.open_promises.write(session)
        await self.journal.write(session)


def _one_at_a_time(batch: BatchHook) -> Handler:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        await batch(session, [envelope])

    return handle


def _parse_run(envelopes: Sequence[Envelope], model: type[M]) -> list[tuple[M, Envelope]]:
    return [(_parse(envelope, model), envelope) for envelope in envelopes]


def _latest_business_date(envelopes: Sequence[Envelope]) -> date | None:
    return max((e.business_date for e in envelopes if e.business_date is not None), default=None)
