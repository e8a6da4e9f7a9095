"""Handlers of `core-banking.loans`: the event path into the same service functions as the REST API.

The consumer applies each polled batch in one transaction. A handler that meets an event it can
never apply raises PermanentError; the consumer then applies the batch event by event in
savepoints and dead-letters only that event, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import (
    EventData,
    LoanBookedV1,
    LoanRestructuredV1,
    LoanWrittenOffV1,
    RepaymentPostedV1,
    RepaymentReversedV1,
    UnknownContract,
    parse_data,
)
from postloan_common.messaging.consumer import BatchHook, Handler, PermanentError
from postloan_common.messaging.envelope import Envelope
from postloan_repayment_monitor.domain.refusal import Refusal
from postloan_repayment_monitor.domain.rules import BucketScheme
from postloan_repayment_monitor.service import metrics
from postloan_repayment_monitor.service.calendar import business_date
from postloan_repayment_monitor.service.commands import booking_command, restructure_command
from postloan_repayment_monitor.service.events import EventBuffer
from postloan_repayment_monitor.service.intake import book_loans
from postloan_repayment_monitor.service.repayments import (
    Posted,
    PostRepayment,
    post_repayments,
    reverse_repayment,
)
from postloan_repayment_monitor.service.restructure import restructure_loan
from postloan_repayment_monitor.service.writeoff import WriteOff, write_off
from postloan_repayment_monitor.settings import Settings

Contract = TypeVar("Contract", bound=EventData)


def contract(envelope: Envelope, model: type[Contract]) -> Contract:
    """The envelope's data as `model`; data that breaks the contract is a permanent failure."""
    try:
        data: BaseModel = parse_data(envelope)
    except (ValidationError, UnknownContract) as exc:
        raise PermanentError(f"{envelope.type} v{envelope.version} data breaks its contract: {exc}") from exc
    if not isinstance(data, model):
        raise PermanentError(f"expected {model.__name__}, got {type(data).__name__}")
    return data


def to_posting(data: RepaymentPostedV1) -> PostRepayment:
    """The posting command of a `repayment-posted` event (the same as a POST …/repayments body)."""
    return PostRepayment(data.repayment_id, data.loan_id, data.amount, data.value_date, data.channel, data.currency)


@dataclass
class BatchEvents(EventBuffer):
    """An EventBuffer whose events name, as causation, the first input event about the same loan."""

    causes: dict[str, str] = field(default_factory=dict)

    def add(self, data: EventData, *, loan_id: str) -> None:
        self.causation_id = self.causes.get(loan_id, self.causation_id)
        super().add(data, loan_id=loan_id)


def batch_events(day: date, envelopes: Sequence[Envelope], loan_ids: Sequence[str]) -> BatchEvents:
    """The event buffer of one batch: correlated with its first event, caused per loan."""
    first = envelopes[0]
    causes: dict[str, str] = {}
    for envelope, loan_id in zip(envelopes, loan_ids, strict=True):
        causes.setdefault(loan_id, str(envelope.id))
    return BatchEvents(
        day,
        correlation_id=first.correlation_id or str(first.id),
        causation_id=str(first.id),
        causes=causes,
    )


@dataclass(frozen=True)
class LoanEventHandlers:
    """The handlers of `core-banking.loans`, bound to the service settings and bucket scheme."""

    settings: Settings
    buckets: BucketScheme

    def handlers(self) -> dict[str, Handler]:
        return {
            "repayment-reversed": self.repayment_reversed,
            "loan-written-off": self.loan_written_off,
            "loan-restructured": self.loan_restructured,
        }

    def batch_handlers(self) -> dict[str, BatchHook]:
        return {"loan-booked": self.loans_booked, "repayment-posted": self.repayments_posted}

    async def _today(self, session: AsyncSession) -> date:
        # A share lock: postings of D never interleave with the close of D.
        return await business_date(session, initial=self.settings.first_business_date(), lock="share")

    async def loans_booked(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        """Book the run of `loan-booked` events; a conflicting or invalid booking is permanent."""
        commands = [booking_command(contract(e, LoanBookedV1)) for e in envelopes]
        today = await self._today(session)
        events = batch_events(today, envelopes, [c.loan_id for c in commands])
        results = await book_loans(
            session,
            commands=commands,
            business_date=today,
            via="event",
            events=events,
            buckets=self.buckets,
            weekend=self.settings.weekend(),
        )
        refused = [r for r in results if isinstance(r, Refusal)]
        if refused:
            raise PermanentError(_reasons(refused))
        await events.flush(session)

    async def repayments_posted(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        """Post the run of `repayment-posted` events; a rejected posting is permanent."""
        commands = [to_posting(contract(e, RepaymentPostedV1)) for e in envelopes]
        today = await self._today(session)
        events = batch_events(today, envelopes, [c.loan_id for c in commands])
        results = await post_repayments(
            session, commands=commands, business_date=today, events=events, buckets=self.buckets
        )
        rejected = [r for r in results if isinstance(r, Refusal)]
        if rejected:
            metrics.on_commit(session, lambda: metrics.count_postings(rejected))
            raise PermanentError(_reasons(rejected))
        await events.flush(session)
        metrics.on_commit(session, lambda: metrics.count_postings(results))

    async def repayment_reversed(self, session: AsyncSession, envelope: Envelope) -> None:
        """Reverse the repayment; an unknown repayment, or one of another loan, is permanent."""
        data = contract(envelope, RepaymentReversedV1)
        today = await self._today(session)
        events = batch_events(today, [envelope], [data.loan_id])
        result = await reverse_repayment(
            session,
            repayment_id=data.repayment_id,
            reason=data.reason,
            business_date=today,
            events=events,
            buckets=self.buckets,
        )
        if isinstance(result, Refusal):
            metrics.on_commit(session, lambda: metrics.count_postings([result], reversal=True))
            raise PermanentError(_reasons([result]))
        if result.loan_id != data.loan_id:
            raise PermanentError(f"repayment {data.repayment_id} belongs to loan {result.loan_id}, not {data.loan_id}")
        await events.flush(session)
        posted: Posted = result
        metrics.on_commit(session, lambda: metrics.count_postings([posted], reversal=True))

    async def loan_written_off(self, session: AsyncSession, envelope: Envelope) -> None:
        """Close the loan as written off and announce `loan-closed`."""
        data = contract(envelope, LoanWrittenOffV1)
        today = await self._today(session)
        events = batch_events(today, [envelope], [data.loan_id])
        command = WriteOff(data.loan_id, data.written_off_on, data.reason)
        result = await write_off(session, command=command, business_date=today, events=events)
        if isinstance(result, Refusal):
            # The write-off's dead-letter reason has always been the detail alone.
            raise PermanentError(result.detail)
        await events.flush(session)

    async def loan_restructured(self, session: AsyncSession, envelope: Envelope) -> None:
        """Replace the loan's open installments by the new schedule; a refused restructuring is permanent."""
        data = contract(envelope, LoanRestructuredV1)
        command = restructure_command(data, loan_id=data.loan_id)
        today = await self._today(session)
        events = batch_events(today, [envelope], [command.loan_id])
        result = await restructure_loan(
            session,
            command=command,
            business_date=today,
            events=events,
            buckets=self.buckets,
            weekend=self.settings.weekend(),
        )
        if isinstance(result, Refusal):
            raise PermanentError(_reasons([result]))
        await events.flush(session)


def _reasons(refusals: Sequence[Refusal]) -> str:
    """The dead-letter reason of refused commands: `code: detail` each."""
    return "; ".join(f"{r.code!s}: {r.detail}" for r in refusals)
