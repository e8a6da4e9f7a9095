"""repayment.loans: loan-registered, payment-due, loan-cured and loan-closed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import LoanClosedV1, LoanCuredV1, LoanRegisteredV1, PaymentDueV1
from postloan_common.contracts.crm import CaseCloseReason
from postloan_common.contracts.repayment import CloseReason
from postloan_common.messaging.envelope import Envelope
from postloan_crm.consumers.common import Clock, StrategyHandler, latest_business_date, parse_run, trace
from postloan_crm.consumers.payments import PaymentRun
from postloan_crm.domain.strategy import CURRENT_BUCKET
from postloan_crm.service import cases, projections, reminders
from postloan_crm.service.calendar import note_business_date
from postloan_crm.service.events import Journal

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class Closing:
    """What a closed loan becomes in crm: its status, its DPD (None: unchanged) and why its case closes."""

    status: str
    dpd: int | None
    case_reason: CaseCloseReason


def closing(event: LoanClosedV1) -> Closing:
    """A written-off loan keeps its DPD and closes its case as written off; any other closing is settled."""
    if event.reason is CloseReason.WRITTEN_OFF:
        return Closing("written_off", None, CaseCloseReason.WRITTEN_OFF)
    return Closing("closed", 0, CaseCloseReason.LOAN_CLOSED)


class LoansRegistered:
    """Project newly registered loans and their schedules."""

    async def __call__(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = parse_run(envelopes, LoanRegisteredV1)
        await note_business_date(session, business_date=latest_business_date(envelopes))
        await projections.register_loans(session, registered=[(e, envelope.business_date) for e, envelope in events])


class PaymentsDue:
    """Note the loans and plan the pre-due reminders of a run of payment-due events."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def __call__(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = parse_run(envelopes, PaymentDueV1)
        await note_business_date(session, business_date=latest_business_date(envelopes))
        loans = projections.LoanChanges()
        for event, _ in events:
            loans.say(event.loan_id, customer_id=event.customer_id)
        await loans.write(session)
        await reminders.plan_reminders(
            session, dues=[(e, str(envelope.id)) for e, envelope in events], now=self.clock()
        )


class LoansCured(StrategyHandler):
    """A cured loan is current again and its open case closes as cured."""

    async def __call__(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = parse_run(envelopes, LoanCuredV1)
        loans = projections.LoanChanges()
        journal = Journal()
        book = await cases.CaseBook.load(
            session, [e.loan_id for e, _ in events], strategy=self.strategy, journal=journal
        )
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
            book.close(event.loan_id, reason=CaseCloseReason.CURED, closed_on=event.cured_on, trace=trace(envelope))
        await loans.write(session)
        await book.write()
        await journal.write(session)


class LoansClosed(StrategyHandler):
    """A closed or written-off loan settles its installments and closes its open case."""

    async def __call__(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = parse_run(envelopes, LoanClosedV1)
        run = await PaymentRun.load(session, [e.loan_id for e, _ in events], strategy=self.strategy, promises_too=False)
        for event, envelope in events:
            outcome = closing(event)
            run.loans.say(
                event.loan_id,
                customer_id=event.customer_id,
                status=outcome.status,
                closed_on=event.closed_on,
                dpd=outcome.dpd,
                overdue=ZERO,
                outstanding=ZERO,
                as_of=envelope.business_date,
            )
            run.installments.settle(event.loan_id, on=event.closed_on)
            run.open_cases.close(
                event.loan_id, reason=outcome.case_reason, closed_on=event.closed_on, trace=trace(envelope)
            )
        await run.write(session)
