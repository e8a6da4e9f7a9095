"""Dead-lettering one consumed record: a `.dlt` outbox row with the reason, and its inbox row marked."""

from __future__ import annotations

import uuid

from aiokafka import ConsumerRecord
from sqlalchemy import Table, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.catalog import dead_letter_topic
from postloan_common.logging import get_logger
from postloan_common.messaging.consumer_metrics import EVENTS
from postloan_common.messaging.errors import is_transient
from postloan_common.messaging.records import MALFORMED_NAMESPACE, MAX_HEADERS, Item, bare_record, bounded, outbox_key
from postloan_common.messaging.records import reason as describe

log = get_logger(__name__)

# Headers a dead letter carries about where it came from; `postloan dlt replay` reads them.
REASON = "dlt-reason"
CONSUMER = "dlt-consumer"
ORIGINAL_TOPIC = "dlt-original-topic"
ORIGINAL_PARTITION = "dlt-original-partition"
ORIGINAL_OFFSET = "dlt-original-offset"


async def dead_letter_safely(
    session: AsyncSession, *, outbox: Table, inbox: Table, consumer: str, item: Item, reason: str
) -> None:
    """Dead-letter `item`; if even that write fails, dead-letter its coordinates and the reason only."""
    try:
        async with session.begin_nested():
            await dead_letter(session, outbox=outbox, inbox=inbox, consumer=consumer, item=item, reason=reason)
        return
    except Exception as exc:
        if is_transient(exc):
            raise
        log.error("dead letter refused, writing a minimal one", error=type(exc).__name__, topic=item.record.topic)
        failure = f"{reason}; the full dead letter could not be stored: {describe(exc)}"
    bare = Item(bare_record(item.record), None, item.error)
    bare.inbox_id = item.inbox_id
    await dead_letter(session, outbox=outbox, inbox=inbox, consumer=consumer, item=bare, reason=failure)


def _coordinates(record: ConsumerRecord) -> str:
    return f"{record.topic}:{record.partition}:{record.offset}"


def _headers(consumer: str, item: Item, reason: str) -> dict[str, str]:
    record = item.record
    headers = {
        REASON: bounded(reason, 4000),
        CONSUMER: consumer,
        ORIGINAL_TOPIC: record.topic,
        ORIGINAL_PARTITION: str(record.partition),
        ORIGINAL_OFFSET: str(record.offset),
    }
    for name, value in list(record.headers or ())[:MAX_HEADERS]:
        name = bounded(str(name), 200)
        if name not in headers:
            headers[name] = bounded((value or b"").decode(errors="replace"), 1000)
    return headers


async def dead_letter(
    session: AsyncSession, *, outbox: Table, inbox: Table, consumer: str, item: Item, reason: str
) -> None:
    """Write `item` to its topic's `.dlt` through the outbox and mark its inbox row dead-lettered."""
    record = item.record
    await session.execute(
        insert(outbox).values(
            # The record's coordinates make a replayed event that fails again a new dead letter, not a conflict.
            event_id=uuid.uuid5(MALFORMED_NAMESPACE, f"dlt:{consumer}:{item.inbox_id}:{_coordinates(record)}"),
            topic=dead_letter_topic(record.topic),
            key=outbox_key(record.key) or str(item.inbox_id),
            event_type=bounded(item.event_type, 100),
            payload=record.value or b"",
            headers=_headers(consumer, item, reason),
        )
    )
    marker = item.envelope.type if item.envelope else "malformed"
    await session.execute(
        update(inbox)
        .where(inbox.c.consumer == consumer, inbox.c.event_id == item.inbox_id)
        .values(event_type=f"dead-lettered:{marker}"[:100])
    )
    EVENTS.labels(consumer, record.topic, "dead_lettered").inc()
    log.warning(
        "event dead-lettered",
        reason=bounded(reason, 500),
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
    )
