"""Queue integration events: one outbox row and one loan history row per event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.catalog import REPAYMENT_LOANS
from postloan_common.contracts import EventData, make_envelope
from postloan_common.messaging.outbox import outbox_row
from postloan_repayment_monitor.store import events as store

SOURCE = "repayment-monitor"


@dataclass
class EventBuffer:
    """Events collected during one unit of work, written with two statements at the end."""

    business_date: date
    correlation_id: str | None = None
    causation_id: str | None = None
    _outbox: list[dict[str, Any]] = field(default_factory=list)
    _history: list[dict[str, Any]] = field(default_factory=list)

    def add(self, data: EventData, *, loan_id: str) -> None:
        """Queue `data` as an event about `loan_id`."""
        envelope = make_envelope(
            data=data,
            source=SOURCE,
            subject=loan_id,
            business_date=self.business_date,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
        )
        self._outbox.append(outbox_row(envelope, topic=REPAYMENT_LOANS))
        self._history.append(
            {
                "loan_id": loan_id,
                "event_id": envelope.id,
                "event_type": envelope.type,
                "business_date": self.business_date,
                "data": envelope.data,
            }
        )

    def __len__(self) -> int:
        return len(self._outbox)

    async def flush(self, session: AsyncSession) -> int:
        """Write the queued events in the caller's transaction; return how many."""
        count = len(self._outbox)
        if count:
            await store.copy_events(session, outbox_rows=self._outbox, history_rows=self._history)
            self._outbox.clear()
            self._history.clear()
        return count
