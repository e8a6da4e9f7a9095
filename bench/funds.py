"""risk-alert fund flows in: fund-moved events through the consumer's batch path into fund_flows.

Beside it, the raw ceiling of the same run: consuming the records alone, then inserting the same
rows with asyncpg executemany alone (in series: 1 / (1/consume + 1/insert)).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import date, timedelta

import asyncpg

from bench.raw_kafka import raw_consume
from bench.report import Result
from bench.risk import LOAN_COLUMNS
from bench.scratch import scratch_database
from postloan_common.contracts import FundMovedV1, make_envelope
from postloan_common.db import create_engine, session_factory, sync_url
from postloan_common.messaging.admin import ensure_topics
from postloan_common.messaging.consumer import Consumer, ConsumerConfig
from postloan_common.messaging.kafka import make_producer
from postloan_common.worker import tune_gc

DISBURSED = date(2026, 3, 2)
KINDS = ("supplier", "supplier", "supplier", "merchant", "company", "person")
_INSERT = "INSERT INTO raw_flows VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"


def _flow(i: int, loans: int, rng: random.Random) -> FundMovedV1:
    suspicious = rng.random() < 0.01  # a few can change a flag and make the loan re-evaluated
    kind = rng.choice(("borrower_self", "securities_broker")) if suspicious else rng.choice(KINDS)
    return FundMovedV1.model_validate(
        {
            "flow_id": f"F{i:09d}",
            "loan_id": f"L{i % loans:08d}",
            "occurred_on": (DISBURSED + timedelta(days=1 + i % 20)).isoformat(),
            "direction": "out",
            "amount": f"{rng.randint(100, 90_000)}.{rng.randint(0, 99):02d}",
            "currency": "CNY",
            "counterparty": {"name": f"Counterparty {i % 5000}", "account": f"62{i % 5000:010d}", "kind": kind},
            "category": "5051",
            "channel": "cnaps",
        }
    )


async def _seed_loans(dsn: str, n: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        rows = [
            (f"L{i:08d}", f"C{i:08d}", "sme-loan", "corporate", 500_000, 500_000, DISBURSED, date(2027, 3, 2), 12)
            for i in range(n)
        ]
        columns = [
            *LOAN_COLUMNS,
            "disbursed_on",
            "maturity_date",
            "installment_count",
        ]
        await conn.copy_records_to_table("loan_features", records=rows, columns=columns)
        await conn.execute("ANALYZE loan_features")
    finally:
        await conn.close()


async def _raw_insert(dsn: str, flows: list[FundMovedV1]) -> float:
    """Rows per second asyncpg writes the same flow rows with executemany, 1,000 per transaction."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TEMP TABLE raw_flows (LIKE fund_flows INCLUDING ALL)")
        rows = [
            (
                f.flow_id,
                f.loan_id,
                f.occurred_on,
                f.direction.value,
                f.amount,
                f.currency,
                f.counterparty.name,
                f.counterparty.account,
                None,
                f.counterparty.kind.value,
                f.category,
                f.channel,
                "x" * 64,
            )
            for f in flows
        ]
        started = time.perf_counter()
        for start in range(0, len(rows), 1000):
            async with conn.transaction():
                await conn.executemany(_INSERT, rows[start : start + 1000])
        return len(rows) / (time.perf_counter() - started)
    finally:
        await conn.close()


async def _produce(bootstrap: str, topic: str, flows: list[FundMovedV1]) -> None:
    producer = make_producer(bootstrap, client_id="bench-funds")
    await producer.start()
    try:
        futures = []
        for f in flows:
            envelope = make_envelope(data=f, source="core-banking", subject=f.loan_id)
            futures.append(await producer.send(topic, value=envelope.to_bytes(), key=f.loan_id.encode()))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _count_reaching(conn: asyncpg.Connection, target: int, poll_s: float) -> int:
    """Poll the stored flow count until it reaches `target`; return it."""
    count = 0
    while count < target:
        await asyncio.sleep(poll_s)
        count = await conn.fetchval("SELECT count(*) FROM fund_flows")
    return count


async def _consume(url: str, bootstrap: str, topic: str, n: int) -> tuple[float, int]:
    """Flows per second through the risk-alert handlers, from the first stored flow; and flags raised."""
    from postloan_risk_alert.consumers import make_handlers
    from postloan_risk_alert.settings import Settings
    from postloan_risk_alert.store.tables import inbox, outbox

    tune_gc()  # as a worker process does (without it, collections of the bench's own heap cost a third)
    engine = create_engine(url)
    sessions = session_factory(engine)
    consumer = Consumer(
        ConsumerConfig(
            name="bench-funds", topics=[topic], bootstrap_servers=bootstrap, batch_size=1000, session_timeout_ms=6000
        ),
        sessions=sessions,
        inbox=inbox,
        outbox=outbox,
        batch_handlers=make_handlers(Settings(database_url=url)),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    conn = await asyncpg.connect(sync_url(url))
    try:
        base = await _count_reaching(conn, 1, 0.01)
        started = time.perf_counter()
        done = await _count_reaching(conn, n, 0.05)
        rate = (done - base) / (time.perf_counter() - started)
        flags = await conn.fetchval("SELECT count(*) FROM fund_use_flags")
    finally:
        await conn.close()
        stop.set()
        await task
        await engine.dispose()
    return rate, flags


async def run(*, scale: float = 1.0) -> list[Result]:
    """Measure fund-moved ingestion through the consumer beside the raw consume + insert ceiling."""
    n = max(2000, int(300_000 * scale))
    loans = max(1000, n // 3)
    async with scratch_database("bench_funds", package="postloan_risk_alert") as (stack, url):
        await _seed_loans(sync_url(url), loans)
        rng = random.Random(15)
        flows = [_flow(i, loans, rng) for i in range(n)]
        topic = f"bench.funds.{uuid.uuid4().hex[:6]}"
        await ensure_topics(stack.kafka_bootstrap, [topic, f"{topic}.dlt"], partitions=4)
        print(f"funds: {n:,} flows over {loans:,} loans", flush=True)
        await _produce(stack.kafka_bootstrap, topic, flows)
        consumed = await raw_consume(stack.kafka_bootstrap, topic, n)
        raw_insert = await _raw_insert(sync_url(url), flows)
        ceiling = 1 / (1 / consumed + 1 / raw_insert)
        rate, flags = await _consume(url, stack.kafka_bootstrap, topic, n)
        print(
            f"  {rate:,.0f} flows/s ({flags:,} flags); raw consume {consumed:,.0f}/s, "
            f"raw insert {raw_insert:,.0f}/s, in series {ceiling:,.0f}/s",
            flush=True,
        )
        return [
            Result(
                f"risk: fund-moved ingestion, {n:,} flows",
                rate,
                "flows/s",
                "consume + executemany of the same rows, in series",
                ceiling,
                detail=f"consumer batch path (inbox, checks, insert, totals, flag evaluation); {flags:,} flags raised",
            )
        ]
