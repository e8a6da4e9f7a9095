"""The relay parks a row the broker rejects for good and moves on; an operator can send it again."""

from __future__ import annotations

import asyncio
import time

import pytest
from demo_app import create_schema, demo_relay, outbox
from sqlalchemy import text

from postloan_common.db import create_engine, session_factory, sync_url
from postloan_common.messaging.admin import ensure_topics
from postloan_common.messaging.envelope import Envelope
from postloan_common.messaging.outbox import add_event
from postloan_common.messaging.relay import PARKED_TOTAL, OutboxRelay, RelayConfig
from postloan_common.ops.outbox import list_parked, retry_parked

pytestmark = pytest.mark.integration


async def _wait_until(predicate, *, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.2)


async def test_oversized_row_is_parked_and_later_rows_still_go(devstack, database_url, unique_topic):
    engine = create_engine(database_url)
    await create_schema(engine)
    sessions = session_factory(engine)
    topic = unique_topic("demo.parking")
    await ensure_topics(devstack.kafka_bootstrap, [topic], partitions=1)
    big = Envelope(type="credit-posted", source="test", subject="acct-1", data={"blob": "x" * 2_000_000})
    small = Envelope(type="credit-posted", source="test", subject="acct-1", data={"n": 1})
    async with sessions.begin() as session:
        await add_event(session, outbox, big, topic=topic)
        await add_event(session, outbox, small, topic=topic)
    parked_before = PARKED_TOTAL.labels("demo-parking")._value.get()

    async def row(event_id):
        async with sessions() as session:
            result = await session.execute(
                text("SELECT id, published_at, parked_at, parked_reason FROM outbox WHERE event_id = :e"),
                {"e": event_id},
            )
            return result.one()

    async def small_published():
        return (await row(small.id)).published_at is not None

    relay = demo_relay(database_url, devstack.kafka_bootstrap, service="demo-parking")
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await _wait_until(small_published)
        parked = await row(big.id)
        assert parked.published_at is None and parked.parked_at is not None
        assert "MessageSizeTooLarge" in parked.parked_reason
        assert PARKED_TOTAL.labels("demo-parking")._value.get() == parked_before + 1
        listed = await list_parked(sync_url(database_url))
        assert [r["event_id"] for r in listed] == [str(big.id)]
        assert "payload" not in listed[0]

        # The operator shrinks the cause (here: the payload), then hands the row back.
        async with sessions.begin() as session:
            await session.execute(text("UPDATE outbox SET payload = '{}'::bytea WHERE id = :i"), {"i": parked.id})
        assert await retry_parked(sync_url(database_url), parked.id)
        assert not await retry_parked(sync_url(database_url), parked.id), "a row not parked is refused"

        async def big_published():
            return (await row(big.id)).published_at is not None

        await _wait_until(big_published)
        assert await list_parked(sync_url(database_url)) == []
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await engine.dispose()


async def test_housekeeping_prunes_old_inbox_rows_only(devstack, database_url):
    import uuid

    import asyncpg

    engine = create_engine(database_url)
    await create_schema(engine)
    conn = await asyncpg.connect(sync_url(database_url))
    try:
        insert = """INSERT INTO inbox (consumer, event_id, event_type, topic, partition, "offset", received_at)
                    VALUES ('c', $1, 't', 'x', 0, 0, now() - make_interval(secs => $2))"""
        old, fresh = uuid.uuid4(), uuid.uuid4()
        await conn.execute(insert, old, 3600.0)
        await conn.execute(insert, fresh, 10.0)
        relay = OutboxRelay(RelayConfig(service="demo-prune", dsn="", bootstrap_servers="", inbox_retention_s=600.0))
        await relay._maybe_prune(conn)
        left = {row["event_id"] for row in await conn.fetch("SELECT event_id FROM inbox")}
        assert left == {fresh}
    finally:
        await conn.close()
        await engine.dispose()
