"""Publish crm activities through the outbox, keyed by customer id."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.catalog import CRM_ACTIVITIES
from postloan_common.contracts import EventData, make_envelope
from postloan_common.messaging.outbox import add_events, outbox_row
from postloan_crm.store.cases import add_timeline_rows
from postloan_crm.store.tables import outbox

SOURCE = "crm"


@dataclass(frozen=True, slots=True)
class Trace:
    """Where an effect came from: the business date and the ids that tie events together."""

    business_date: date | None = None
    correlation_id: str | None = None
    causation_id: str | None = None


def activity_row(data: EventData, *, customer_id: str, trace: Trace) -> dict[str, Any]:
    """The outbox row that publishes `data` on crm.activities."""
    envelope = make_envelope(
        data=data,
        source=SOURCE,
        subject=customer_id,
        business_date=trace.business_date,
        correlation_id=trace.correlation_id or None,
        causation_id=trace.causation_id,
    )
    return outbox_row(envelope, topic=CRM_ACTIVITIES)


async def emit(session: AsyncSession, data: EventData, *, customer_id: str, trace: Trace) -> None:
    """Queue `data` on crm.activities in the caller's transaction."""
    await add_events(session, outbox, [activity_row(data, customer_id=customer_id, trace=trace)])


@dataclass
class Journal:
    """Case timeline entries and crm.activities events of a run of events, written in their order at its end."""

    timeline: list[dict[str, Any]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)

    def note(
        self,
        *,
        case_id: str,
        kind: str,
        details: dict[str, Any],
        business_date: date | None = None,
        actor: str | None = None,
    ) -> None:
        """Append an entry to a case's timeline."""
        self.timeline.append(
            {
                "case_id": case_id,
                "kind": kind,
                "details": details,
                "business_date": business_date,
                "actor": actor or "crm",
            }
        )

    def emit(self, data: EventData, *, customer_id: str, trace: Trace) -> None:
        """Queue `data` on crm.activities."""
        self.activities.append(activity_row(data, customer_id=customer_id, trace=trace))

    async def write(self, session: AsyncSession) -> None:
        """Write what was noted and emitted (after the cases it refers to)."""
        await add_timeline_rows(session, self.timeline)
        await add_events(session, outbox, self.activities)
        self.timeline, self.activities = [], []
