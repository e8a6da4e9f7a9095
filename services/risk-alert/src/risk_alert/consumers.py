"""Batch handlers of `repayment.loans` and `crm.activities`: fold events into the feature projection.

Each polled run of events loads the loans it touches with one locking SELECT, folds the events
in order (pure functions of domain/projection.py) and writes them back with one executemany.
`day-closed` records the partition; when every partition of a business date has arrived the
close-of-day re-scoring runs in the same transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import (
    ContactAttemptedV1,
    DayClosedV1,
    DelinquencyChangedV1,
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
from postloan_common.logging import get_logger
from postloan_common.messaging.consumer import Barrier, PermanentError
from postloan_common.messaging.envelope import Envelope
from risk_alert.domain import projection
from risk_alert.service.close_of_day import rescore
from risk_alert.settings import Settings
from risk_alert.store.tables import classifications, day_closures, loan_features, scoring_runs

log = get_logger(__name__)

BatchHandler = Callable[[AsyncSession, Sequence[Envelope]], Awaitable[None]]
_KEY = "k_loan_id"
_MUTABLE = [c.name for c in loan_features.columns if c.name not in ("loan_id", "updated_at")]


def _data(envelope: Envelope) -> Any:
    try:
        return parse_data(envelope)
    except (ValidationError, UnknownContract) as exc:
        raise PermanentError(f"{envelope.type} v{envelope.version}: {exc}") from exc


def _day(envelope: Envelope) -> date:
    return envelope.business_date or envelope.time.date()


async def _load(session: AsyncSession, loan_ids: set[str]) -> dict[str, dict[str, Any]]:
    rows = await session.execute(
        select(loan_features).where(loan_features.c.loan_id.in_(sorted(loan_ids))).with_for_update()
    )
    return {r.loan_id: dict(r._mapping) for r in rows}


async def _save(session: AsyncSession, states: dict[str, dict[str, Any]], changed: set[str]) -> None:
    if not changed:
        return
    statement = (
        update(loan_features)
        .where(loan_features.c.loan_id == bindparam(_KEY))
        .values({**{name: bindparam(name) for name in _MUTABLE}, "updated_at": func.now()})
    )
    await session.execute(
        statement, [{_KEY: loan_id, **{n: states[loan_id][n] for n in _MUTABLE}} for loan_id in sorted(changed)]
    )


def make_handlers(settings: Settings) -> dict[str, BatchHandler]:
    """The batch handlers of every consumed event type."""

    async def registered(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        rows = []
        for envelope in envelopes:
            d: LoanRegisteredV1 = _data(envelope)
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
                    segment=settings.segment_of(d.product),
                )
            )
        await session.execute(pg_insert(loan_features).on_conflict_do_nothing(), rows)

    def folding(
        fold: Callable[[dict[str, Any], Any, Envelope], None], *, loan_id_of: Callable[[Any], str | None]
    ) -> BatchHandler:
        async def handle(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
            parsed = [(envelope, _data(envelope)) for envelope in envelopes]
            wanted = {lid for _, d in parsed if (lid := loan_id_of(d))}
            states = await _load(session, wanted) if wanted else {}
            changed: set[str] = set()
            for envelope, data in parsed:
                loan_id = loan_id_of(data)
                if not loan_id:
                    continue
                state = states.get(loan_id)
                if state is None:
                    if envelope.source == "repayment-monitor":
                        raise PermanentError(f"{envelope.type} for unknown loan {loan_id}")
                    continue  # a CRM activity about a loan this service never saw registered
                fold(state, data, envelope)
                state["dirty"] = True
                changed.add(loan_id)
            await _save(session, states, changed)

        return handle

    def loan_of(data: Any) -> str | None:
        return getattr(data, "loan_id", None)

    def on_due(state: dict[str, Any], d: PaymentDueV1, _: Envelope) -> None:
        projection.payment_due(state, amount_due=d.amount_due, days_before_due=d.days_before_due)

    def on_received(state: dict[str, Any], d: PaymentReceivedV1, e: Envelope) -> None:
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
        projection.payment_reversed(
            state,
            amount=d.amount,
            outstanding=d.outstanding_after,
            overdue=d.overdue_after,
            dpd=d.dpd_after,
            as_of=_day(e),
        )

    def on_missed(state: dict[str, Any], d: PaymentMissedV1, e: Envelope) -> None:
        projection.payment_missed(state, due_date=d.due_date, dpd=d.dpd, as_of=_day(e), overdue=d.amount_overdue)

    def on_delinquency(state: dict[str, Any], d: DelinquencyChangedV1, e: Envelope) -> None:
        projection.delinquency_changed(
            state, dpd=d.dpd, overdue=d.overdue_amount, outstanding=d.outstanding, as_of=_day(e)
        )

    def on_cured(state: dict[str, Any], d: LoanCuredV1, _: Envelope) -> None:
        projection.cured(state, cured_on=d.cured_on, outstanding=d.outstanding)

    def on_closed(state: dict[str, Any], d: LoanClosedV1, _: Envelope) -> None:
        projection.closed(state, closed_on=d.closed_on)

    def on_contact(state: dict[str, Any], d: ContactAttemptedV1, _: Envelope) -> None:
        projection.contact_attempted(
            state,
            connected=d.connected,
            outcome=d.outcome.value,
            right_party=d.party.value == "debtor" and d.outcome.value in ("right_party_contact", "promise_to_pay"),
        )

    async def rescheduled(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        parsed: list[tuple[Envelope, LoanRescheduledV1]] = [(e, _data(e)) for e in envelopes]
        ids = {d.loan_id for _, d in parsed}
        current = dict(
            (
                await session.execute(
                    select(classifications.c.loan_id, classifications.c.category).where(
                        classifications.c.loan_id.in_(sorted(ids))
                    )
                )
            ).all()
        )
        states = await _load(session, ids)
        for envelope, d in parsed:
            state = states.get(d.loan_id)
            if state is None:
                raise PermanentError(f"{envelope.type} for unknown loan {d.loan_id}")
            projection.rescheduled(
                state,
                restructured_on=d.restructured_on,
                outstanding_principal=d.outstanding_principal,
                installment_count=d.installment_count,
                first_due_date=d.first_due_date,
                maturity_date=d.maturity_date,
                dpd_before=d.dpd_before,
                category=current.get(d.loan_id),
            )
            state["dirty"] = True
        await _save(session, states, ids)

    async def day_closed(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        for envelope in envelopes:
            d: DayClosedV1 = _data(envelope)
            # Serialise the partitions of one business date, so exactly one transaction sees them all.
            await session.execute(
                text("SELECT pg_advisory_xact_lock(7201, :day)"), {"day": d.business_date.toordinal()}
            )
            await session.execute(
                pg_insert(day_closures)
                .values(business_date=d.business_date, partition=d.partition, partitions=d.partitions)
                .on_conflict_do_nothing()
            )
            seen = (
                await session.execute(
                    select(func.count())
                    .select_from(day_closures)
                    .where(day_closures.c.business_date == d.business_date)
                )
            ).scalar_one()
            done = (
                await session.execute(
                    select(scoring_runs.c.business_date).where(scoring_runs.c.business_date == d.business_date)
                )
            ).first()
            if seen < d.partitions or done is not None:
                continue
            stats = await rescore(
                session, business_date=d.business_date, settings=settings, correlation_id=envelope.correlation_id
            )
            await session.execute(
                insert(scoring_runs).values(
                    business_date=d.business_date, duration_ms=int(stats.seconds * 1000), stats=stats.as_dict()
                )
            )
            log.info("close of day scored", **{k: v for k, v in stats.as_dict().items() if k != "phases"})

    def promise_fold(kind: str) -> Callable[[dict[str, Any], BaseModel, Envelope], None]:
        def fold(state: dict[str, Any], _d: BaseModel, _e: Envelope) -> None:
            projection.promise(state, kind=kind)

        return fold

    handlers: dict[str, BatchHandler] = {
        LoanRegisteredV1.event_type: registered,
        PaymentDueV1.event_type: folding(on_due, loan_id_of=loan_of),
        PaymentReceivedV1.event_type: folding(on_received, loan_id_of=loan_of),
        PaymentReversedV1.event_type: folding(on_reversed, loan_id_of=loan_of),
        PaymentMissedV1.event_type: folding(on_missed, loan_id_of=loan_of),
        DelinquencyChangedV1.event_type: folding(on_delinquency, loan_id_of=loan_of),
        LoanCuredV1.event_type: folding(on_cured, loan_id_of=loan_of),
        LoanClosedV1.event_type: folding(on_closed, loan_id_of=loan_of),
        LoanRescheduledV1.event_type: rescheduled,
        DayClosedV1.event_type: day_closed,
        ContactAttemptedV1.event_type: folding(on_contact, loan_id_of=loan_of),
        PromiseToPayMadeV1.event_type: folding(promise_fold("made"), loan_id_of=loan_of),
        PromiseKeptV1.event_type: folding(promise_fold("kept"), loan_id_of=loan_of),
        PromiseBrokenV1.event_type: folding(promise_fold("broken"), loan_id_of=loan_of),
    }
    return handlers


async def day_scored(session: AsyncSession, envelope: Envelope) -> bool:
    """Whether the close-of-day run of `envelope`'s business date (a day-closed) has happened."""
    day = _data(envelope).business_date
    found = await session.execute(select(scoring_runs.c.business_date).where(scoring_runs.c.business_date == day))
    return found.first() is not None


# Each partition of repayment.loans waits after its day-closed until the day is scored, so the
# scoring of day D never sees day D + 1's events from partitions that ran ahead.
DAY_BARRIER = Barrier(event_type=DayClosedV1.event_type, released=day_scored)
