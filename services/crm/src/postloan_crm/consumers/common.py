"""What every crm handler shares: parsing a run, the trace of an event, the run's business date."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.messaging.consumer import BatchHook, Handler
from postloan_common.messaging.envelope import Envelope
from postloan_common.messaging.parsing import parse_data
from postloan_crm.domain.strategy import StrategyTable
from postloan_crm.service.events import Trace

Clock = Callable[[], datetime]
M = TypeVar("M", bound=BaseModel)


class StrategyHandler:
    """A run handler that treats cases by the collection strategy it was built with (subclasses give __call__)."""

    def __init__(self, strategy: StrategyTable) -> None:
        self.strategy = strategy


def utcnow() -> datetime:
    """The wall clock (tests pass their own)."""
    return datetime.now(UTC)


def trace(envelope: Envelope) -> Trace:
    """The business date and correlation the events caused by `envelope` carry."""
    return Trace(
        business_date=envelope.business_date,
        correlation_id=envelope.correlation_id or str(envelope.id),
        causation_id=str(envelope.id),
    )


def parse_run(envelopes: Sequence[Envelope], model: type[M]) -> list[tuple[M, Envelope]]:
    """Every event of the run parsed before anything is written (PermanentError on the first bad one)."""
    return [(parse_data(envelope, model), envelope) for envelope in envelopes]


def latest_business_date(envelopes: Sequence[Envelope]) -> date | None:
    """The latest business date the run carries, if any."""
    return max((e.business_date for e in envelopes if e.business_date is not None), default=None)


def one_at_a_time(batch: BatchHook) -> Handler:
    """A per-event handler applying a run of one event."""

    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        await batch(session, [envelope])

    return handle
