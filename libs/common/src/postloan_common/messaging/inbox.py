"""Claiming consumed records in the inbox: the exactly-once half of the consumer."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.messaging.errors import is_transient
from postloan_common.messaging.records import Item, bounded, locator_id, reason


def _claim_statement(inbox: Table) -> Any:
    """One INSERT of a whole batch, its values one array per column: one plan, whatever the batch size.

    (A multi-row VALUES list has six parameters a row: thousands to parse and plan for each batch.)
    """
    return text(
        f'WITH claimed AS (INSERT INTO "{inbox.name}" (consumer, event_id, event_type, topic, partition, "offset") '
        "SELECT CAST(:consumer AS text), * FROM unnest(CAST(:event_id AS uuid[]), CAST(:event_type AS text[]), "
        "CAST(:topic AS text[]), CAST(:partition AS integer[]), CAST(:offset AS bigint[])) "
        "ON CONFLICT DO NOTHING RETURNING event_id) "
        # The fresh ids as one array value: one row to fetch, not one per event.
        "SELECT coalesce(array_agg(event_id), '{}') FROM claimed"
    )


async def claim(session: AsyncSession, *, inbox: Table, consumer: str, items: list[Item]) -> set[uuid.UUID]:
    """Insert inbox rows; return the ids that were not seen before."""
    unique = list({item.inbox_id: item for item in items}.values())
    columns = {
        "consumer": consumer,
        "event_id": [item.inbox_id for item in unique],
        "event_type": [bounded(item.event_type, 100) for item in unique],
        "topic": [bounded(item.record.topic, 200) for item in unique],
        "partition": [item.record.partition for item in unique],
        "offset": [item.record.offset for item in unique],
    }
    return set((await session.execute(_claim_statement(inbox), columns)).scalar_one())


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
