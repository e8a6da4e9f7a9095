"""Relay and consumer loop throughput beside raw aiokafka produce and consume on the same broker."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence

import asyncpg
from sqlalchemy import BigInteger, Column, Identity, Numeric, String, Table, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from bench.raw_kafka import raw_consume, raw_produce
from bench.report import Result
from bench.scratch import scratch_database
from postloan_common.db import (
    create_engine,
    new_metadata,
    session_factory,
    sync_url,
)
from postloan_common.messaging.admin import ensure_topics
from postloan_common.messaging.consumer import Consumer, ConsumerConfig
from postloan_common.messaging.envelope import Envelope
from postloan_common.messaging.outbox import add_events, outbox_row
from postloan_common.messaging.relay import OutboxRelay, RelayConfig
from postloan_common.messaging.tables import NOTIFY_TRIGGER_DDL, add_messaging_tables

metadata = new_metadata()
outbox, inbox = add_messaging_tables(metadata)
applied = Table(
    "applied",
    metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    Column("account", String(50), nullable=False),
    Column("amount", Numeric(18, 2), nullable=False),
)


def _event(i: int) -> Envelope:
    return Envelope(
        type="credit-posted",
        source="bench",
        subject=f"acct-{i % 1000}",
        data={"account": f"acct-{i % 1000}", "amount": f"{i % 500}.25", "pad": "x" * 700},
    )


async def _raw_executemany(dsn: str, n: int) -> float:
    """Rows per second asyncpg writes with executemany: an inbox row and an applied row per event."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "CREATE TEMP TABLE raw_inbox (consumer text, event_id uuid, PRIMARY KEY (consumer, event_id))"
        )
        await conn.execute(
            "CREATE TEMP TABLE raw_applied (seq bigserial PRIMARY KEY, account text, amount numeric(18,2))"
        )
        started = time.perf_counter()
        for start in range(0, n, 1000):
            async with conn.transaction():
                await conn.executemany(
                    "INSERT INTO raw_inbox VALUES ('raw', $1)",
                    [(uuid.uuid4(),) for _ in range(start, min(n, start + 1000))],
                )
                await conn.executemany(
                    "INSERT INTO raw_applied (account, amount) VALUES ($1, $2)",
                    [(f"acct-{i % 1000}", f"{i % 500}.25") for i in range(start, min(n, start + 1000))],
                )
        return n / (time.perf_counter() - started)
    finally:
        await conn.close()


async def _on_credit(session: AsyncSession, event: Envelope) -> None:
    await session.execute(insert(applied).values(account=event.data["account"], amount=event.data["amount"]))


async def _on_credits(session: AsyncSession, events: Sequence[Envelope]) -> None:
    await session.execute(insert(applied), [{"account": e.data["account"], "amount": e.data["amount"]} for e in events])


async def _consume_rate(bootstrap: str, sessions, topic: str, n: int, group: str, **handlers) -> float:
    """Apply `n` events from `topic` with a fresh group; time from the first applied row."""
    async with sessions.begin() as session:
        await session.execute(text("TRUNCATE applied"))
    consumer = Consumer(
        ConsumerConfig(
            name=group, topics=[topic], bootstrap_servers=bootstrap, batch_size=1000, session_timeout_ms=6000
        ),
        sessions=sessions,
        inbox=inbox,
        outbox=outbox,
        **handlers,
    )
    stop = asyncio.Event()
    launched = time.perf_counter()
    task = asyncio.create_task(consumer.run(stop))
    count = text("SELECT count(*) FROM applied")
    while True:
        async with sessions() as session:
            base = (await session.execute(count)).scalar()
        if base:
            break
        await asyncio.sleep(0.01)
    if base >= n:  # the whole run came in the first batch (a tiny scale): no interval after it to time
        rate = n / (time.perf_counter() - launched)
        stop.set()
        await task
        return rate
    started = time.perf_counter()
    while True:
        async with sessions() as session:
            done = (await session.execute(count)).scalar()
        if done >= n:
            break
        await asyncio.sleep(0.02)
    rate = (n - base) / (time.perf_counter() - started)
    stop.set()
    await task
    return rate


async def run(*, scale: float = 1.0) -> list[Result]:
    """Measure relay and consumer throughput with their raw ceilings, in one run."""
    n = max(200, int(20_000 * scale))
    async with scratch_database("bench") as (stack, url):
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            for ddl in NOTIFY_TRIGGER_DDL:
                await conn.execute(text(ddl))
        sessions = session_factory(engine)
        suffix = uuid.uuid4().hex[:6]
        raw_topic, relay_topic = f"bench.raw.{suffix}", f"bench.relay.{suffix}"
        await ensure_topics(stack.kafka_bootstrap, [raw_topic, relay_topic, f"{relay_topic}.dlt"], partitions=4)
        events = [_event(i) for i in range(n)]
        payloads = [(e.subject.encode(), e.to_bytes()) for e in events]
        print(f"foundation: {n} events of {len(payloads[0][1])} bytes", flush=True)

        produce_rate = await raw_produce(stack.kafka_bootstrap, raw_topic, payloads)
        consume_rate = await raw_consume(stack.kafka_bootstrap, raw_topic, n)
        raw_pg = await _raw_executemany(sync_url(url), n)
        # The consumer's raw pipeline: consume the records, then write the same rows with executemany.
        raw_pipeline = 1 / (1 / consume_rate + 1 / raw_pg)
        print(
            f"  raw produce {produce_rate:,.0f}/s, raw consume {consume_rate:,.0f}/s, "
            f"raw executemany {raw_pg:,.0f} rows/s",
            flush=True,
        )

        async with sessions.begin() as session:
            for start in range(0, n, 5000):
                await add_events(
                    session, outbox, (outbox_row(e, topic=relay_topic) for e in events[start : start + 5000])
                )
        stop = asyncio.Event()
        relay = OutboxRelay(
            RelayConfig(service="bench", dsn=sync_url(url), bootstrap_servers=stack.kafka_bootstrap, batch_size=2000)
        )
        started = time.perf_counter()
        task = asyncio.create_task(relay.run(stop))
        while True:
            async with sessions() as session:
                left = (await session.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))).scalar()
            if left == 0:
                break
            await asyncio.sleep(0.05)
        relay_rate = n / (time.perf_counter() - started)
        stop.set()
        await task
        print(f"  relay {relay_rate:,.0f}/s", flush=True)

        rates: dict[str, float] = {}
        for kind, group, handlers in (
            ("per-event handler", "e", {"handlers": {"credit-posted": _on_credit}}),
            ("batch handler", "b", {"batch_handlers": {"credit-posted": _on_credits}}),
        ):
            rates[kind] = await _consume_rate(
                stack.kafka_bootstrap, sessions, relay_topic, n, f"bench-{group}-{suffix}", **handlers
            )
            print(f"  consumer loop, {kind} {rates[kind]:,.0f}/s", flush=True)
        per_event, batched = rates["per-event handler"], rates["batch handler"]
        await engine.dispose()
        return [
            Result(
                "relay: outbox -> broker",
                relay_rate,
                "events/s",
                "raw aiokafka produce",
                produce_rate,
                detail=f"{n} events, batch 2000, acks=all, lz4",
            ),
            Result(
                "consumer loop, per-event handler",
                per_event,
                "events/s",
                "raw consume + executemany, in series",
                raw_pipeline,
                detail="one INSERT per event + inbox rows, one transaction and offset commit per batch",
            ),
            Result(
                "consumer loop, batch handler",
                batched,
                "events/s",
                "raw consume + executemany, in series",
                raw_pipeline,
                detail="one multi-row INSERT per batch + inbox rows, one transaction and commit per batch",
            ),
        ]
