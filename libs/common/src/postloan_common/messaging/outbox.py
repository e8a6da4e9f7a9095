"""Writing events to the outbox inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.messaging.envelope import Envelope


def outbox_row(
    envelope: Envelope,
    *,
    topic: str,
    partition: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return the outbox row for `envelope` (for bulk inserts)."""
    base = {"event-type": envelope.type, "event-version": str(envelope.version)}
    if envelope.correlation_id:
        base["correlation-id"] = envelope.correlation_id
    return {
        "event_id": envelope.id,
        "topic": topic,
        "key": envelope.subject,
        "partition": partition,
        "event_type": envelope.type,
        "payload": envelope.to_bytes(),
        "headers": {**base, **(headers or {})},
    }


async def add_event(
    session: AsyncSession,
    outbox: Table,
    envelope: Envelope,
    *,
    topic: str,
    partition: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Queue one event for publishing when the caller's transaction commits."""
    await session.execute(insert(outbox), [outbox_row(envelope, topic=topic, partition=partition, headers=headers)])


async def add_events(session: AsyncSession, outbox: Table, rows: Iterable[dict[str, Any]]) -> int:
    """Queue many prepared outbox rows in one statement; return how many."""
    batch = list(rows)
    if batch:
        await session.execute(insert(outbox), batch)
    return len(batch)
