"""Publish crm activities through the outbox, keyed by customer id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.catalog import CRM_ACTIVITIES
from postloan_common.contracts import EventData, make_envelope
from postloan_common.messaging.outbox import add_event
from postloan_crm.store.tables import outbox

SOURCE = "crm"


@dataclass(frozen=True, slots=True)
class Trace:
    """Where an effect came from: the business date and the ids that tie events together."""

    business_date: date | None = None
    correlation_id: str | None = None
    causation_id: str | None = None


async def emit(session: AsyncSession, data: EventData, *, customer_id: str, trace: Trace) -> None:
    """Queue `data` on crm.activities in the caller's transaction."""
    envelope = make_envelope(
        data=data,
        source=SOURCE,
        subject=customer_id,
        business_date=trace.business_date,
        correlation_id=trace.correlation_id or None,
        causation_id=trace.causation_id,
    )
    await add_event(session, outbox, envelope, topic=CRM_ACTIVITIES)
