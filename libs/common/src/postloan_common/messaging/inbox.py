"""Claiming consumed records in the inbox: the exactly-once half of the consumer."""

from __future__ import annotations

import uuid

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.messaging.errors import is_transient
from postloan_common.messaging.records import Item, bounded, locator_id, reason


async def claim(session: AsyncSession, *, inbox: Table, consumer: str, items: list[Item]) -> set[uuid.UUID]:
    """Insert inbox rows; return the ids that were not seen before."""
    rows = [
        {
            "consumer": consumer,
            "event_id": item.inbox_id,
            "event_type": bounded(item.event_type, 100),
            "topic": bounded(item.record.topic, 200),
            "partition": item.record.partition,
            "offset": item.record.offset,
        }
        for item in items
    ]
    unique = list({row["event_id"]: row for row in rows}.values())
    stmt = pg_insert(inbox).on_conflict_do_nothing().returning(inbox.c.event_id)
    result = await session.execute(stmt, unique) if len(unique) > 1 else await session.execute(stmt.values(unique[0]))
    return {row[0] for row in result}


async def claim_each(session: AsyncSession, *, inbox: Table, consumer: str, items: list[Item]) -> set[uuid.UUID]:
    """Claim records one at a time, so a record whose inbox row cannot be written is dead-lettered alone."""
    fresh: set[uuid.UUID] = set()
    for item in items:
        try:
            async with session.begin_nested():
                fresh |= await claim(session, inbox=inbox, consumer=consumer, items=[item])
        except Exception as exc:
            if is_transient(exc):
                raise
            item.envelope, item.error = None, f"unstorable record: {reason(exc)}"
            item.inbox_id = locator_id(item.record)
            async with session.begin_nested():
                fresh |= await claim(session, inbox=inbox, consumer=consumer, items=[item])
    return fresh
