"""repayment.loans: payment-missed and delinquency-changed open or adjust collection cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import DelinquencyChangedV1, PaymentMissedV1
from postloan_common.messaging.envelope import Envelope
from postloan_crm.consumers.common import StrategyHandler, latest_business_date, parse_run, trace
from postloan_crm.domain.strategy import StrategyTable, is_delinquent
from postloan_crm.service import cases, projections
from postloan_crm.service.calendar import note_business_date
from postloan_crm.service.events import Journal


def missed_state(event: PaymentMissedV1) -> cases.Delinquency:
    """Where a loan stands after a missed installment."""
    return cases.Delinquency(
        event.loan_id, event.customer_id, event.bucket.value, event.dpd, event.amount_overdue, event.currency
    )


def loan_said(event: PaymentMissedV1 | DelinquencyChangedV1, *, as_of: date | None) -> dict[str, Any]:
    """What a missed installment or a bucket move says of the loan (a move also its overdue and outstanding)."""
    said: dict[str, Any] = {"customer_id": event.customer_id, "dpd": event.dpd, "currency": event.currency}
    if isinstance(event, DelinquencyChangedV1):
        said |= {"bucket": event.to_bucket.value, "overdue": event.overdue_amount, "outstanding": event.outstanding}
    else:
        said["bucket"] = event.bucket.value
    return said | {"as_of": as_of}


def changed_states(
    events: Sequence[tuple[DelinquencyChangedV1, Envelope]],
) -> list[tuple[cases.Delinquency, Envelope]]:
    """The delinquent states of a run of bucket moves; a move back to current is loan-cured's, which closes the case."""
    return [
        (
            cases.Delinquency(e.loan_id, e.customer_id, e.to_bucket.value, e.dpd, e.overdue_amount, e.currency),
            envelope,
        )
        for e, envelope in events
        if is_delinquent(e.to_bucket.value)
    ]


async def treat_delinquent(
    session: AsyncSession,
    states: Sequence[tuple[cases.Delinquency, Envelope]],
    *,
    strategy: StrategyTable,
    escalate_only: bool,
) -> None:
    """Open or adjust the collection cases of delinquent loans, in one read and one write."""
    journal = Journal()
    book = await cases.CaseBook.load(
        session, [state.loan_id for state, _ in states], strategy=strategy, journal=journal, with_risk=True
    )
    for state, envelope in states:
        await book.on_delinquent(state, trace=trace(envelope), escalate_only=escalate_only)
    await book.write()
    await journal.write(session)


class PaymentsMissed(StrategyHandler):
    """A missed installment updates the loan and opens its case or escalates it (never softens it)."""

    async def __call__(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = parse_run(envelopes, PaymentMissedV1)
        await note_business_date(session, business_date=latest_business_date(envelopes))
        loans = projections.LoanChanges()
        for event, envelope in events:
            loans.say(event.loan_id, **loan_said(event, as_of=envelope.business_date))
        await loans.write(session)
        states = [(missed_state(e), envelope) for e, envelope in events]
        # A further missed installment never softens the treatment (a broken promise may have raised it).
        await treat_delinquent(session, states, strategy=self.strategy, escalate_only=True)


class DelinquenciesChanged(StrategyHandler):
    """A bucket move updates the loan and moves its case to the strategy's queue (either way)."""

    async def __call__(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = parse_run(envelopes, DelinquencyChangedV1)
        loans = projections.LoanChanges()
        for event, envelope in events:
            loans.say(event.loan_id, **loan_said(event, as_of=envelope.business_date))
        await loans.write(session)
        await treat_delinquent(session, changed_states(events), strategy=self.strategy, escalate_only=False)
