"""repayment.loans: payment-received and payment-reversed, and the run of loans, cases and promises they change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import PaymentReceivedV1, PaymentReversedV1
from postloan_common.messaging.envelope import Envelope
from postloan_crm.consumers.common import StrategyHandler, latest_business_date, parse_run, trace
from postloan_crm.domain.strategy import StrategyTable
from postloan_crm.service import cases, projections, promises
from postloan_crm.service.calendar import note_business_date
from postloan_crm.service.events import Journal


@dataclass
class PaymentRun:
    """What a run of payments (or closings) changes: loan projections, installments, cases and promises."""

    journal: Journal
    loans: projections.LoanChanges
    installments: projections.InstallmentBook
    open_cases: cases.CaseBook
    open_promises: promises.PromiseBook

    @classmethod
    async def load(
        cls, session: AsyncSession, loan_ids: Sequence[str], *, strategy: StrategyTable, promises_too: bool = True
    ) -> PaymentRun:
        """Read (and lock) what the run's loans need."""
        journal = Journal()
        return cls(
            journal=journal,
            loans=projections.LoanChanges(),
            installments=await projections.InstallmentBook.load(session, loan_ids),
            open_cases=await cases.CaseBook.load(session, loan_ids, strategy=strategy, journal=journal),
            open_promises=await promises.PromiseBook.load(session, loan_ids if promises_too else (), journal=journal),
        )

    async def write(self, session: AsyncSession) -> None:
        """Write everything changed, the journal last (it refers to the cases)."""
        await self.loans.write(session)
        await self.installments.write(session)
        await self.open_cases.write()
        await self.open_promises.write(session)
        await self.journal.write(session)


def loan_after(event: PaymentReceivedV1 | PaymentReversedV1, *, as_of: date | None) -> dict[str, Any]:
    """What a payment or its reversal says of the loan's state (a reversal names no currency)."""
    said: dict[str, Any] = {
        "customer_id": event.customer_id,
        "dpd": event.dpd_after,
        "bucket": event.bucket_after.value,
        "overdue": event.overdue_after,
        "outstanding": event.outstanding_after,
        "as_of": as_of,
    }
    if isinstance(event, PaymentReceivedV1):
        said["currency"] = event.currency
    return said


def count_towards_case_and_promises(
    run: PaymentRun, event: PaymentReceivedV1 | PaymentReversedV1, envelope: Envelope, *, reversed_: bool
) -> None:
    """Count a payment (or take a reversed one back) in the money its loan's open case collected and its promises."""
    run.open_cases.add_collected(event.loan_id, -event.amount if reversed_ else event.amount)
    run.open_promises.on_payment(
        loan_id=event.loan_id,
        amount=event.amount,
        value_date=event.value_date,
        reversed_=reversed_,
        trace=trace(envelope),
    )


class PaymentsReceived(StrategyHandler):
    """Apply a run of payments to the loans, their installments, open cases and promises."""

    async def __call__(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = parse_run(envelopes, PaymentReceivedV1)
        await note_business_date(session, business_date=latest_business_date(envelopes))
        run = await PaymentRun.load(session, [e.loan_id for e, _ in events], strategy=self.strategy)
        for event, envelope in events:
            run.loans.say(event.loan_id, **loan_after(event, as_of=envelope.business_date))
            run.installments.apply(event.loan_id, amount=event.amount, paid_on=event.value_date)
            count_towards_case_and_promises(run, event, envelope, reversed_=False)
        await run.write(session)


class PaymentsReversed(StrategyHandler):
    """Take a run of reversed payments back out of the loans, installments, open cases and promises."""

    async def __call__(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = parse_run(envelopes, PaymentReversedV1)
        run = await PaymentRun.load(session, [e.loan_id for e, _ in events], strategy=self.strategy)
        for event, envelope in events:
            run.loans.say(event.loan_id, **loan_after(event, as_of=envelope.business_date))
            run.installments.unapply(event.loan_id, amount=event.amount)
            count_towards_case_and_promises(run, event, envelope, reversed_=True)
        await run.write(session)
