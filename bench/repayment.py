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
import os
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy import text

from bench.raw_kafka import raw_consume, raw_produce
from bench.repayment_ingest import ingest
from bench.repayment_seed import DAY, MONTHS, PARTITIONS, raw_copy, raw_update, repayments, write_portfolio
from bench.report import Result, at_full_scale
from bench.scratch import scratch_database
from postloan_common.catalog import CORE_BANKING_LOANS, REPAYMENT_LOANS
from postloan_common.db import create_engine, session_factory, sync_url
from postloan_common.messaging.admin import ensure_topics
from postloan_repayment_monitor.domain.rules import BucketScheme
from postloan_repayment_monitor.service import bulk
from postloan_repayment_monitor.service.close_of_day import close_day
from postloan_repayment_monitor.settings import Settings


async def run(*, scale: float = 1.0) -> list[Result]:
    """Bulk intake, close of day and repayment ingest at `scale` × the issue's sizes."""
    loans = max(1_000, int(1_000_000 * scale))
    queued = max(1_000, int(50_000 * scale))
    async with scratch_database("bench_rm", package="postloan_repayment_monitor") as (stack, url):
        with tempfile.TemporaryDirectory(prefix="bench-repayment-") as workdir:
            engine = create_engine(url)
            sessions = session_factory(engine)
            dsn = sync_url(url)

            path = Path(workdir) / "portfolio.ndjson"
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
                closed = await close_day(
                    session, expected=DAY, initial=DAY, buckets=BucketScheme(), partitions=PARTITIONS
                )
            close_s = time.perf_counter() - started
            update_s = await raw_update(dsn)
            print(
                f"  close of day: {close_s:.1f} s {closed.stats}; raw UPDATE of every loan: {update_s:.1f} s",
                flush=True,
            )

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
                envelopes = repayments(queued, loans, closed.next_business_date, prefix=prefix)
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
                            detail=f"{queued:,} repayment-posted, batch {settings.consumer_batch_size}; "
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
