"""Batch handlers of `repayment.loans`, `crm.activities` and `core-banking.*`: fold events into the projection.

Each polled run of events loads the loans it touches with one locking SELECT, folds the events
in order (pure functions of domain/projection.py) and writes them back with one executemany.
`day-closed` records the partition; when every partition of a business date has arrived the
close-of-day re-scoring runs in the same transaction (service/day_closing.py).

One handler per event type: module-level functions, or small classes holding their dependencies
(settings, a fold), each testable on its own with a fake session (tests/unit/test_consumers.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import (
    ContactAttemptedV1,
    CustomerUpsertedV1,
    DayClosedV1,
    DelinquencyChangedV1,
    ExternalSignalV1,
    FundMovedV1,
    LoanClosedV1,
    LoanCuredV1,
    LoanRegisteredV1,
    LoanRescheduledV1,
    PaymentDueV1,
    PaymentMissedV1,
    PaymentReceivedV1,
    PaymentReversedV1,
    PromiseBrokenV1,
    PromiseKeptV1,
    PromiseToPayMadeV1,
    parse_data,
)
from postloan_common.contracts.registry import UnknownContract
from postloan_common.messaging.consumer import Barrier, PermanentError
from postloan_common.messaging.envelope import Envelope
from postloan_risk_alert.domain import projection
from postloan_risk_alert.service import external_signals
from postloan_risk_alert.service.day_closing import close_partition
from postloan_risk_alert.service.fund_flows import FlowConflict, ingest_flows
from postloan_risk_alert.settings import Settings
from postloan_risk_alert.store import fund_flows, loan_store

BatchHandler = Callable[[AsyncSession, Sequence[Envelope]], Awaitable[None]]
Fold = Callable[[dict[str, Any], Any, Envelope], None]


def _data(envelope: Envelope) -> Any:
    try:
        return parse_data(envelope)
    except (ValidationError, UnknownContract) as exc:
        raise PermanentError(f"{envelope.type} v{envelope.version}: {exc}") from exc


def _day(envelope: Envelope) -> date:
    return envelope.business_date or envelope.time.date()


@dataclass(frozen=True)
class Registered:
    """loan-registered: insert the loan's projection row (its segment from the product settings)."""

    settings: Settings

    async def __call__(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        rows = []
        purposes = []
        for envelope in envelopes:
            d: LoanRegisteredV1 = _data(envelope)
            if d.purpose is not None:
                purposes.append({"loan_id": d.loan_id, "purpose": d.purpose.value})
            rows.append(
                projection.new_loan(
                    loan_id=d.loan_id,
                    customer_id=d.customer_id,
                    product=d.product,
                    branch=d.branch,
                    currency=d.currency,
                    principal=d.principal,
                    annual_rate=d.annual_rate,
                    disbursed_on=d.disbursed_on,
                    installment_count=d.installment_count,
                    first_due_date=d.first_due_date,
                    maturity_date=d.maturity_date,
                    segment=self.settings.segment_of(d.product),
                )
            )
        await loan_store.insert_new_loans(session, rows)
        await fund_flows.insert_purposes(session, purposes)


async def fund_moved(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    """fund-moved: store the batch's flows; a refused flow fails the batch, so only it is dead-lettered."""
    flows: list[FundMovedV1] = [_data(e) for e in envelopes]
    try:
        result = await ingest_flows(session, flows=flows)
    except FlowConflict as exc:
        raise PermanentError(str(exc)) from exc
    if result.refusals:
        first = result.refusals[0]
        raise PermanentError(f"fund-moved {first.flow_id}: {first.reason}")


async def external_signal(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    """external-signal: store the batch's signals; a refused signal fails the batch, so only it is dead-lettered."""
    try:
        result = await external_signals.ingest_signals(session, signals=[_data(e) for e in envelopes])
    except external_signals.SignalConflict as exc:
        raise PermanentError(str(exc)) from exc
    if result.refusals:
        first = result.refusals[0]
        raise PermanentError(f"external-signal {first.signal_id}: {first.reason}")


async def customer_upserted(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    """customer-upserted: keep the customer's industry (industry signals apply through it)."""
    await external_signals.record_industries(session, customers=[_data(e) for e in envelopes])


@dataclass(frozen=True)
class Folding:
    """An event about one loan: load the loans of the batch, apply `fold` to each in order, save the changed."""

    fold: Fold
    load: Callable[[AsyncSession, set[str]], Awaitable[dict[str, dict[str, Any]]]] = loan_store.load_for_update
    save: Callable[[AsyncSession, dict[str, dict[str, Any]], set[str]], Awaitable[None]] = loan_store.save

    async def __call__(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        parsed = [(envelope, _data(envelope)) for envelope in envelopes]
        wanted = {lid for _, d in parsed if (lid := _loan_of(d))}
        states = await self.load(session, wanted) if wanted else {}
        changed: set[str] = set()
        for envelope, data in parsed:
            loan_id = _loan_of(data)
            if not loan_id:
                continue
            state = states.get(loan_id)
            if state is None:
                if envelope.source == "repayment-monitor":
                    raise PermanentError(f"{envelope.type} for unknown loan {loan_id}")
                continue  # a CRM activity about a loan this service never saw registered
            self.fold(state, data, envelope)
            state["dirty"] = True
            changed.add(loan_id)
        await self.save(session, states, changed)


def _loan_of(data: Any) -> str | None:
    return getattr(data, "loan_id", None)


def on_due(state: dict[str, Any], d: PaymentDueV1, _: Envelope) -> None:
    """Fold payment-due."""
    projection.payment_due(state, amount_due=d.amount_due, days_before_due=d.days_before_due)


def on_received(state: dict[str, Any], d: PaymentReceivedV1, e: Envelope) -> None:
    """Fold payment-received."""
    projection.payment_received(
        state,
        amount=d.amount,
        credit=d.allocation.credit,
        outstanding=d.outstanding_after,
        overdue=d.overdue_after,
        dpd=d.dpd_after,
        as_of=_day(e),
    )


def on_reversed(state: dict[str, Any], d: PaymentReversedV1, e: Envelope) -> None:
    """Fold payment-reversed."""
    projection.payment_reversed(
        state, amount=d.amount, outstanding=d.outstanding_after, overdue=d.overdue_after, dpd=d.dpd_after, as_of=_day(e)
    )


def on_missed(state: dict[str, Any], d: PaymentMissedV1, e: Envelope) -> None:
    """Fold payment-missed."""
    projection.payment_missed(state, due_date=d.due_date, dpd=d.dpd, as_of=_day(e), overdue=d.amount_overdue)


def on_delinquency(state: dict[str, Any], d: DelinquencyChangedV1, e: Envelope) -> None:
    """Fold delinquency-changed."""
    projection.delinquency_changed(state, dpd=d.dpd, overdue=d.overdue_amount, outstanding=d.outstanding, as_of=_day(e))


def on_cured(state: dict[str, Any], d: LoanCuredV1, _: Envelope) -> None:
    """Fold loan-cured."""
    projection.cured(state, cured_on=d.cured_on, outstanding=d.outstanding)


def on_closed(state: dict[str, Any], d: LoanClosedV1, _: Envelope) -> None:
    """Fold loan-closed."""
    projection.closed(state, closed_on=d.closed_on)


def on_contact(state: dict[str, Any], d: ContactAttemptedV1, _: Envelope) -> None:
    """Fold contact-attempted."""
    projection.contact_attempted(
        state,
        connected=d.connected,
        outcome=d.outcome.value,
        right_party=d.party.value == "debtor" and d.outcome.value in ("right_party_contact", "promise_to_pay"),
    )


@dataclass(frozen=True)
class PromiseFold:
    """Fold a promise-to-pay event of one kind (made, kept, broken)."""

    kind: str

    def __call__(self, state: dict[str, Any], _d: BaseModel, _e: Envelope) -> None:
        projection.promise(state, kind=self.kind)


async def rescheduled(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    """loan-rescheduled: fold the new schedule, remembering the category the loan had when restructured."""
    parsed: list[tuple[Envelope, LoanRescheduledV1]] = [(e, _data(e)) for e in envelopes]
    ids = {d.loan_id for _, d in parsed}
    current = await loan_store.current_categories(session, ids)
    states = await loan_store.load_for_update(session, ids)
    for envelope, d in parsed:
        state = states.get(d.loan_id)
        if state is None:
            raise PermanentError(f"{envelope.type} for unknown loan {d.loan_id}")
        projection.rescheduled(state, d, category=current.get(d.loan_id))
        state["dirty"] = True
    await loan_store.save(session, states, ids)


@dataclass(frozen=True)
class DayClosed:
    """day-closed: record the partition; the last partition of a business date runs its close of day."""

    settings: Settings

    async def __call__(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        for envelope in envelopes:
            d: DayClosedV1 = _data(envelope)
            await close_partition(session, day=d, settings=self.settings, correlation_id=envelope.correlation_id)


def make_handlers(settings: Settings) -> dict[str, BatchHandler]:
    """The batch handlers of every consumed event type."""
    return {
        LoanRegisteredV1.event_type: Registered(settings),
        PaymentDueV1.event_type: Folding(on_due),
        PaymentReceivedV1.event_type: Folding(on_received),
        PaymentReversedV1.event_type: Folding(on_reversed),
        PaymentMissedV1.event_type: Folding(on_missed),
        DelinquencyChangedV1.event_type: Folding(on_delinquency),
        LoanCuredV1.event_type: Folding(on_cured),
        LoanClosedV1.event_type: Folding(on_closed),
        LoanRescheduledV1.event_type: rescheduled,
        DayClosedV1.event_type: DayClosed(settings),
        FundMovedV1.event_type: fund_moved,
        ExternalSignalV1.event_type: external_signal,
        CustomerUpsertedV1.event_type: customer_upserted,
        ContactAttemptedV1.event_type: Folding(on_contact),
        PromiseToPayMadeV1.event_type: Folding(PromiseFold("made")),
        PromiseKeptV1.event_type: Folding(PromiseFold("kept")),
        PromiseBrokenV1.event_type: Folding(PromiseFold("broken")),
    }


async def day_scored(session: AsyncSession, envelope: Envelope) -> bool:
    """Whether the close-of-day run of `envelope`'s business date (a day-closed) has happened."""
    return await loan_store.day_scored(session, _data(envelope).business_date)


# Each partition of repayment.loans waits after its day-closed until the day is scored, so the
# scoring of day D never sees day D + 1's events from partitions that ran ahead.
DAY_BARRIER = Barrier(event_type=DayClosedV1.event_type, released=day_scored)
