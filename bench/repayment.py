"""repayment-monitor at portfolio scale, each figure beside a raw ceiling measured in the same run.

At scale 1.0 (the issue's sizes):
- bulk intake of 1,000,000 loans × 12 installments from an NDJSON file (target < 5 min), beside
  raw COPY of the same loan and installment rows into plain tables (no indexes, no checks);
- close of day over those 1,000,000 active loans (target < 30 s), beside one raw
  `UPDATE loans SET updated_at = now()` over the same table. First due dates are spread over
  30 days, so 1/30 of the loans have an installment due on the closed day (all left unpaid: a
  pessimistic day), and 5 % of the loans are already 1–120 days overdue;
- repayment ingest through Kafka (target ≥ 5,000/s sustained): 50,000 `repayment-posted`
  envelopes on the input topic, the real Consumer with the repayment-posted batch handler and the
  OutboxRelay, timed from the first to the last committed repayment and until every
  `payment-received` is published; beside raw aiokafka produce and consume of the same messages.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bench.report import Result, at_full_scale
from postloan_common.catalog import CORE_BANKING_LOANS, REPAYMENT_LOANS
from postloan_common.contracts import RepaymentPostedV1, make_envelope
from postloan_common.db import create_engine, drop_database, ensure_database, session_factory, sync_url, with_database
from postloan_common.messaging.admin import ensure_topics
from postloan_common.messaging.consumer import Consumer, ConsumerConfig
from postloan_common.messaging.envelope import Envelope
from postloan_common.messaging.kafka import make_producer
from postloan_common.messaging.relay import OutboxRelay, RelayConfig
from postloan_common.migrations import service_dir, upgrade
from postloan_common.worker import tune_gc
from postloan_dev.devstack import start_devstack
from postloan_repayment_monitor.domain.rules import BucketScheme
from postloan_repayment_monitor.domain.schedule import add_months
from postloan_repayment_monitor.service import bulk
from postloan_repayment_monitor.service.close_of_day import close_day
from postloan_repayment_monitor.settings import Settings
from postloan_repayment_monitor.store.tables import inbox, outbox

DAY = date(2026, 3, 16)  # the business date closed; repayments are posted on the next one
MONTHS = 12
PARTITIONS = 4


# --- the portfolio -------------------------------------------------------------------------------


def _first_due(i: int) -> date:
    if i % 20 == 0:  # 5 % already overdue, spread over 1–120 days
        return DAY - timedelta(days=1 + (i // 20) % 120)
    return DAY + timedelta(days=i % 30)


def _portfolio(n: int) -> Iterator[tuple[str, str, date, date, int, list[tuple[date, int]]]]:
    """(loan id, customer id, disbursed on, first due, principal cents, [(due date, interest cents)])."""
    dues: dict[date, list[date]] = {}
    for i in range(n):
        first = _first_due(i)
        if first not in dues:
            dues[first] = [add_months(first, k) for k in range(MONTHS)]
        part = (500 + (i % 50) * 10) * 100
        yield (
            f"L{i:08d}",
            f"C{i % 400_000:07d}",
            first - timedelta(days=30),
            first,
            part * MONTHS,
            [(d, (MONTHS - k) * part // 100) for k, d in enumerate(dues[first])],
        )


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def write_portfolio(path: Path, n: int) -> int:
    """Write `n` POST /v1/loans bodies as NDJSON; return the file size."""
    with path.open("w") as out:
        for loan_id, customer, disbursed, _first, principal, schedule in _portfolio(n):
            part = _money(principal // MONTHS)
            installments = ",".join(
                f'{{"seq":{k + 1},"due_date":"{due.isoformat()}","principal":"{part}",'
                f'"interest":"{_money(interest)}","fee":"0.00"}}'
                for k, (due, interest) in enumerate(schedule)
            )
            out.write(
                f'{{"loan_id":"{loan_id}","customer_id":"{customer}","product":"consumer-12m","branch":"SH01",'
                f'"currency":"CNY","principal":"{_money(principal)}","annual_rate":"0.1200",'
                f'"disbursed_on":"{disbursed.isoformat()}","installments":[{installments}]}}\n'
            )
    return path.stat().st_size


# --- raw ceilings --------------------------------------------------------------------------------


async def raw_copy(dsn: str, n: int) -> tuple[float, int]:
    """Seconds to COPY the portfolio's loan and installment rows into plain tables; rows copied."""
    conn = await asyncpg.connect(dsn)
    spent, rows = 0.0, 0
    try:
        await conn.execute("CREATE TABLE raw_loans (LIKE loans INCLUDING DEFAULTS)")
        await conn.execute("CREATE TABLE raw_installments (LIKE installments INCLUDING DEFAULTS)")
        loan_columns = [
            *("loan_id", "customer_id", "product", "branch", "currency", "principal", "annual_rate"),
            *("disbursed_on", "penalty_rate", "grace_days", "status", "content_hash", "booked_via"),
            *("oldest_unpaid_due", "bucket", "outstanding_principal"),
        ]
        installment_columns = ("loan_id", "seq", "due_date", "grace_ends_on", "principal", "interest", "fee")
        portfolio = _portfolio(n)
        rate, penalty = Decimal("0.12"), Decimal("0.18")
        while True:
            loans_rows: list[tuple[Any, ...]] = []
            installment_rows: list[tuple[Any, ...]] = []
            for loan_id, customer, disbursed, first, principal, schedule in portfolio:
                amount = Decimal(principal).scaleb(-2)
                part = Decimal(principal // MONTHS).scaleb(-2)
                loan = (loan_id, customer, "consumer-12m", "SH01", "CNY", amount, rate, disbursed, penalty, 0)
                loans_rows.append((*loan, "active", "0" * 64, "bulk", first, "M0", amount))
                installment_rows.extend(
                    (loan_id, k + 1, due, due, part, Decimal(interest).scaleb(-2), Decimal(0))
                    for k, (due, interest) in enumerate(schedule)
                )
                if len(loans_rows) == 25_000:
                    break
            if not loans_rows:
                break
            started = time.perf_counter()
            async with conn.transaction():
                await conn.copy_records_to_table("raw_loans", records=loans_rows, columns=loan_columns)
                await conn.copy_records_to_table(
                    "raw_installments", records=installment_rows, columns=installment_columns
                )
            spent += time.perf_counter() - started
            rows += len(loans_rows) + len(installment_rows)
        await conn.execute("DROP TABLE raw_loans; DROP TABLE raw_installments")
        return spent, rows
    finally:
        await conn.close()


async def raw_update(dsn: str) -> float:
    """Seconds for one UPDATE of every loan row (rolled back: the table is left as it was)."""
    conn = await asyncpg.connect(dsn)
    try:
        tx = conn.transaction()
        await tx.start()
        started = time.perf_counter()
        await conn.execute("UPDATE loans SET updated_at = now()")
        spent = time.perf_counter() - started
        await tx.rollback()
        return spent
    finally:
        await conn.close()


async def raw_produce(bootstrap: str, topic: str, payloads: Sequence[tuple[bytes, bytes]]) -> float:
    producer = make_producer(bootstrap, client_id="bench-raw")
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [await producer.send(topic, value=v, key=k) for k, v in payloads]
        await asyncio.gather(*futures)
        return len(payloads) / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def raw_consume(bootstrap: str, topic: str, expected: int) -> float:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        await consumer.seek_to_beginning()
        seen = 0
        started = time.perf_counter()
        while seen < expected:
            batch = await consumer.getmany(timeout_ms=500, max_records=2000)
            seen += sum(len(r) for r in batch.values())
        return seen / (time.perf_counter() - started)
    finally:
        await consumer.stop()


# --- the measured paths ----------------------------------------------------------------------------


BatchHandler = Callable[[AsyncSession, Sequence[Envelope]], Awaitable[None]]


def repayment_handler(settings: Settings) -> BatchHandler:
    """The service's repayment-posted batch handler (postloan_repayment_monitor.consumers)."""
    from postloan_repayment_monitor.consumers import LoanEventHandlers

    return LoanEventHandlers(settings, BucketScheme()).batch_handlers()["repayment-posted"]


async def _scalar(sessions: Any, sql: str) -> int:
    async with sessions() as session:
        return int((await session.execute(text(sql))).scalar_one())


def _consumer(*, url: str, bootstrap: str, topic: str, group: str, sessions: Any, business_date: date) -> Consumer:
    settings = Settings(initial_business_date=business_date)
    return Consumer(
        ConsumerConfig(
            name=group,
            topics=[topic],
            bootstrap_servers=bootstrap,
            batch_size=settings.consumer_batch_size,
            session_timeout_ms=6000,
        ),
        sessions=sessions,
        inbox=inbox,
        outbox=outbox,
        batch_handlers={"repayment-posted": repayment_handler(settings)},
    )


def _consumer_process(url: str, bootstrap: str, topic: str, group: str, business_date: date, stop: Any) -> None:
    """A worker process of its own: the repayment-posted consumer until `stop` (an mp.Event) is set."""

    async def consume() -> None:
        tune_gc()
        engine = create_engine(url)
        consumer = _consumer(
            url=url,
            bootstrap=bootstrap,
            topic=topic,
            group=group,
            sessions=session_factory(engine),
            business_date=business_date,
        )
        done = asyncio.Event()
        task = asyncio.create_task(consumer.run(done))

        def stop_or_crash() -> None:
            while not stop.wait(0.2) and not task.done():
                pass

        await asyncio.to_thread(stop_or_crash)
        done.set()
        await task  # a crash surfaces here and ends the process with an error
        await engine.dispose()

    asyncio.run(consume())


async def ingest(
    *, url: str, bootstrap: str, topic: str, n: int, business_date: date, sessions: Any, processes: int = 1
) -> tuple[float, float, int]:
    """Run `processes` consumers (one group) and the relay over `n` queued repayments.

    One process runs the consumer and the relay on one event loop, as a worker does; with more,
    each consumer runs in a process of its own (the topic has PARTITIONS partitions) and the
    relay stays here. Returns (repayments/s from the first to the last commit, repayments/s until
    the outbox is drained, payment-received events published in the run).
    """
    tune_gc()  # as a worker process does
    group = f"repayment-monitor-bench-{uuid.uuid4().hex[:6]}"
    relay = OutboxRelay(RelayConfig(service="repayment-monitor", dsn=sync_url(url), bootstrap_servers=bootstrap))
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop))]
    context = multiprocessing.get_context("spawn")
    stop_children = context.Event()
    children = []
    if processes == 1:
        consumer = _consumer(
            url=url, bootstrap=bootstrap, topic=topic, group=group, sessions=sessions, business_date=business_date
        )
        tasks.append(asyncio.create_task(consumer.run(stop)))
    else:
        for _ in range(processes):
            child = context.Process(
                target=_consumer_process, args=(url, bootstrap, topic, group, business_date, stop_children)
            )
            child.start()
            children.append(child)
    count = "SELECT count(*) FROM repayments"
    received_sql = "SELECT count(*) FROM outbox WHERE event_type = 'payment-received'"
    try:
        before = await _scalar(sessions, count)
        received_before = await _scalar(sessions, received_sql)
        while True:
            base = await _scalar(sessions, count)
            if base > before:
                break
            if any(t.done() for t in tasks) or any(not c.is_alive() for c in children):
                raise RuntimeError("a consumer or the relay stopped")
            await asyncio.sleep(0.01)
        started = time.perf_counter()
        while True:
            done = await _scalar(sessions, count)
            if done >= before + n:
                break
            if any(t.done() for t in tasks) or any(not c.is_alive() for c in children):
                raise RuntimeError("a consumer or the relay stopped")
            dead = await _scalar(sessions, "SELECT count(*) FROM outbox WHERE topic LIKE '%.dlt'")
            if dead:
                raise RuntimeError(f"{dead} repayments were dead-lettered")
            await asyncio.sleep(0.05)
        committed = time.perf_counter()
        while True:
            if not await _scalar(sessions, "SELECT count(*) FROM outbox WHERE published_at IS NULL"):
                break
            await asyncio.sleep(0.05)
        drained = time.perf_counter()
        received = await _scalar(sessions, received_sql) - received_before
        return (done - base) / (committed - started), n / (drained - started), received
    finally:
        stop.set()
        stop_children.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for child in children:
            await asyncio.to_thread(child.join, 30)
            if child.is_alive():
                child.kill()


def _repayments(n: int, loans: int, value_date: date, *, prefix: str = "R") -> list[Envelope]:
    out = []
    for i, (loan_id, _c, _d, _f, principal, schedule) in enumerate(_portfolio(min(n, loans))):
        amount = Decimal(principal // MONTHS + schedule[0][1]).scaleb(-2)
        data = RepaymentPostedV1(
            loan_id=loan_id,
            repayment_id=f"{prefix}{i:08d}",
            amount=amount,
            value_date=value_date,
            channel="bank-transfer",
        )
        out.append(make_envelope(data=data, source="core-banking", subject=loan_id))
    return out


async def run(*, scale: float = 1.0) -> list[Result]:
    """Bulk intake, close of day and repayment ingest at `scale` × the issue's sizes."""
    loans = max(1_000, int(1_000_000 * scale))
    repayments = max(1_000, int(50_000 * scale))
    stack = start_devstack()
    db = f"bench_rm_{uuid.uuid4().hex[:8]}"
    workdir = tempfile.TemporaryDirectory(prefix="bench-repayment-")
    try:
        await ensure_database(stack.postgres_url, db)
        url = with_database(stack.postgres_url, db)
        await asyncio.to_thread(upgrade, service_dir("postloan_repayment_monitor"), url)
        engine = create_engine(url)
        sessions = session_factory(engine)
        dsn = sync_url(url)

        path = Path(workdir.name) / "portfolio.ndjson"
        started = time.perf_counter()
        size = await asyncio.to_thread(write_portfolio, path, loans)
        print(
            f"repayment: {loans:,} loans × {MONTHS} installments, {size / 1e6:,.0f} MB of NDJSON "
            f"(written in {time.perf_counter() - started:.0f} s)",
            flush=True,
        )

        copy_s, copied = await raw_copy(dsn, loans)
        print(f"  raw COPY of {copied:,} rows: {copy_s:.1f} s ({copied / copy_s:,.0f} rows/s)", flush=True)

        job_id = bulk.new_job_id()
        async with sessions.begin() as session:
            await bulk.create_job(session, job_id=job_id, fmt="ndjson", submitted_by="bench")
        started = time.perf_counter()
        progress = await bulk.load_file(
            sessions, job_id=job_id, path=path, fmt="ndjson", initial_business_date=DAY, buckets=BucketScheme()
        )
        intake_s = time.perf_counter() - started
        if progress.status != "succeeded" or progress.loaded != loans:
            raise RuntimeError(f"bulk intake did not load everything: {progress.counters()}")
        print(f"  bulk intake: {intake_s:.1f} s ({loans / intake_s:,.0f} loans/s)", flush=True)
        path.unlink()

        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("VACUUM ANALYZE loans")
            await conn.execute("VACUUM ANALYZE installments")
        finally:
            await conn.close()
        started = time.perf_counter()
        async with sessions.begin() as session:
            closed = await close_day(session, expected=DAY, initial=DAY, buckets=BucketScheme(), partitions=PARTITIONS)
        close_s = time.perf_counter() - started
        update_s = await raw_update(dsn)
        print(f"  close of day: {close_s:.1f} s {closed.stats}; raw UPDATE of every loan: {update_s:.1f} s", flush=True)

        # The repayments: only their own events are to be published in the measured window.
        async with sessions.begin() as session:
            await session.execute(text("TRUNCATE outbox"))
        settings = Settings(initial_business_date=DAY)
        ingests: list[tuple[int, float, float, int]] = []
        raw_runs: list[tuple[float, float]] = []
        # One worker process, then as many as this machine has cores (the topic has 4 partitions);
        # each run posts one more repayment on each of its loans, under new ids.
        for processes, prefix in ((1, "R"), (min(PARTITIONS, max(2, os.cpu_count() or 2)), "S")):
            topic = f"{CORE_BANKING_LOANS}.bench-{uuid.uuid4().hex[:6]}"
            await ensure_topics(
                stack.kafka_bootstrap,
                [topic, f"{topic}.dlt", REPAYMENT_LOANS, f"{REPAYMENT_LOANS}.dlt"],
                partitions=PARTITIONS,
            )
            envelopes = _repayments(repayments, loans, closed.next_business_date, prefix=prefix)
            payloads = [(e.subject.encode(), e.to_bytes()) for e in envelopes]
            produce = await raw_produce(stack.kafka_bootstrap, topic, payloads)
            consume = await raw_consume(stack.kafka_bootstrap, topic, len(payloads))
            raw_runs.append((produce, consume))
            print(f"  raw produce {produce:,.0f}/s, raw consume {consume:,.0f}/s", flush=True)
            committed, published, received = await ingest(
                url=url,
                bootstrap=stack.kafka_bootstrap,
                topic=topic,
                n=len(payloads),
                business_date=DAY,
                sessions=sessions,
                processes=processes,
            )
            ingests.append((processes, committed, published, received))
            print(
                f"  repayment ingest, {processes} worker process(es): {committed:,.0f}/s committed, "
                f"{published:,.0f}/s until {received:,} payment-received events were published",
                flush=True,
            )
        produce = min(p for p, _ in raw_runs)
        consume = min(c for _, c in raw_runs)
        raw_pipeline = 1 / (1 / produce + 1 / consume)
        await engine.dispose()
        return [
            Result(
                "bulk intake (NDJSON → loans + installments)",
                intake_s,
                "s",
                "raw COPY of the same rows",
                copy_s,
                higher_is_better=False,
                detail=f"{loans:,} loans, {loans * MONTHS:,} installments, {loans:,} loan-registered events; "
                f"{loans / intake_s:,.0f} loans/s; target ≤ 150 s at 1,000,000 loans",
                target=at_full_scale(150.0, scale),
            ),
            Result(
                "close of day",
                close_s,
                "s",
                "one UPDATE of every loan",
                update_s,
                higher_is_better=False,
                detail=f"{loans:,} active loans; {closed.stats.get('payments_due')} payment-due, "
                f"{closed.stats.get('payments_missed')} payment-missed, "
                f"{closed.stats.get('delinquency_changes')} delinquency-changed; target < 30 s at 1,000,000 loans",
                target=at_full_scale(30.0, scale),
            ),
            *(
                result
                for processes, committed, published, received in ingests
                for result in (
                    Result(
                        f"repayment ingest (Kafka → DB, committed), {processes} worker process(es)",
                        committed,
                        "repayments/s",
                        "raw consume + produce, in series",
                        raw_pipeline,
                        detail=f"{repayments:,} repayment-posted, batch {settings.consumer_batch_size}; "
                        f"raw produce {produce:,.0f}/s, consume {consume:,.0f}/s"
                        + ("; target ≥ 5,000/s with one worker" if processes == 1 else ""),
                        target=5_000.0 if processes == 1 else None,
                    ),
                    Result(
                        f"repayment ingest until payment-received published, {processes} worker process(es)",
                        published,
                        "repayments/s",
                        "raw consume + produce, in series",
                        raw_pipeline,
                        detail=f"{received:,} payment-received (and other) events through the outbox relay",
                    ),
                )
            ),
        ]
    finally:
        workdir.cleanup()
        await drop_database(stack.postgres_url, db)
        stack.stop()
