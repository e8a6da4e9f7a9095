"""Reporting: event ingest at the demo's mix, and the reports on a generated book, each beside a raw ceiling.

Event ingest: a loan book's year of events on every topic reporting consumes (10,000 loans × 12
months at scale 1, the `make demo` book; the mix and order of the platform's stream: postings and
what follows them during the day, the close of day's payment-missed / payment-due /
delinquency-changed bursts and day-closed on every partition, risk-alert's scores and
classifications, crm's cases, and core banking's own events, which reporting reads and ignores) goes
through the consumer's batch path (`Consumer.apply_batch`: inbox, runs of one type, one transaction
per batch of up to 500 records of one partition, as a consumer that is behind gets them), with the
worker's snapshot refresher every 5 s. Ceiling: parsing the same records and writing each once with
`executemany`, a batch per transaction.

Reports: analytics rows are generated directly (COPY), not through events: loans, state intervals
(a few per loan, as state changes), synthetic daily aggregates, and real snapshots built at month ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import asyncpg
from aiokafka import ConsumerRecord

from bench.report import Result, at_full_scale
from bench.reporting_events import BATCH, INGEST_MONTHS, event_stream
from bench.reporting_seed import AS_OF, fill_days, generate
from bench.scratch import scratch_database
from postloan_common.catalog import CONSUMES
from postloan_common.db import create_engine, session_factory, sync_url
from postloan_common.messaging.consumer import Consumer, ConsumerConfig
from postloan_common.messaging.envelope import Envelope
from postloan_common.worker import tune_gc
from postloan_reporting.consumers import batch_handlers
from postloan_reporting.domain.model import add_months, month_end
from postloan_reporting.render.pdf import render_pdf
from postloan_reporting.service import reports, snapshots
from postloan_reporting.service.effectiveness import costs_from
from postloan_reporting.service.management import management_report
from postloan_reporting.service.reports import Filters
from postloan_reporting.settings import Settings
from postloan_reporting.store.tables import inbox, outbox

REFRESH_EVERY_S = 5.0  # as the worker's snapshot refresher


async def _timed(coro_factory, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        await coro_factory()
        best = min(best, time.perf_counter() - started)
    return best


async def run(*, scale: float = 1.0) -> list[Result]:
    """Time event ingest and the portfolio, roll-rate and management reports, each beside its ceiling."""
    return [await ingest(scale=scale), *await queries(scale=scale)]


async def queries(*, scale: float = 1.0) -> list[Result]:
    """Time the portfolio, roll-rate and management reports with the raw scans of their rows."""
    n = max(1000, int(1_000_000 * scale))
    async with scratch_database("bench_rpt", package="postloan_reporting") as (_stack, url):
        started = time.perf_counter()
        interval_count = await generate(sync_url(url), n)
        print(
            f"reporting: {n:,} loans, {interval_count:,} intervals generated in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        engine = create_engine(url)
        sessions = session_factory(engine)
        ends = sorted({month_end(add_months(AS_OF, -k)) for k in range(0, 13)})
        started = time.perf_counter()
        async with sessions.begin() as session:
            for day in ends:
                await snapshots.build(session, business_date=day)
        build_s = (time.perf_counter() - started) / len(ends)
        print(f"  snapshot build {build_s:.2f} s per day", flush=True)
        await fill_days(sync_url(url), ends)
        raw = await asyncpg.connect(sync_url(url))
        try:

            async def raw_daily() -> None:
                await raw.fetch("SELECT * FROM rpt_daily WHERE business_date = $1", AS_OF)

            async def raw_intervals() -> None:
                for day in (ends[0], AS_OF):
                    await raw.fetch(
                        "SELECT loan_key, dpd_anchor, principal FROM rpt_interval"
                        " WHERE valid_from <= $1 AND valid_to > $1",
                        day,
                    )

            raw_daily_s = await _timed(raw_daily)
            raw_roll_s = await _timed(raw_intervals, repeat=2)
        finally:
            await raw.close()

        async def three_reports() -> None:
            async with sessions() as session:
                for _ in range(3):  # portfolio, aging, classification: one query each, as the API does
                    await reports.portfolio_report(session, as_of=AS_OF, filters=Filters())

        async def roll() -> None:
            async with sessions() as session:
                await reports.roll_rates(session, start=ends[0], end=AS_OF, filters=Filters())

        async def management() -> None:
            async with sessions() as session:
                report = await management_report(session, as_of=AS_OF, filters=Filters(), costs=costs_from(Settings()))
                render_pdf(report, "zh-CN")

        portfolio_s = await _timed(three_reports)
        roll_s = await _timed(roll, repeat=2)
        management_s = await _timed(management, repeat=1)
        print(
            f"  portfolio+aging+classification {portfolio_s:.3f} s (raw {raw_daily_s:.3f}); roll {roll_s:.2f} s "
            f"(raw {raw_roll_s:.2f}); management {management_s:.2f} s",
            flush=True,
        )
        await engine.dispose()
        detail = f"{n:,} loans, {interval_count:,} intervals, 12 months of daily aggregates"
        return [
            Result(
                "reporting: portfolio+aging+classification",
                portfolio_s,
                "s",
                "raw fetch of the day's aggregates",
                raw_daily_s,
                higher_is_better=False,
                detail=f"{detail}; target < 1 s at 1,000,000 loans",
                target=at_full_scale(1.0, scale),
            ),
            Result(
                "reporting: roll-rate matrix, 12 months apart",
                roll_s,
                "s",
                "raw fetch of both days' intervals",
                raw_roll_s,
                higher_is_better=False,
                detail=f"{ends[0]} → {AS_OF}; target < 2 s at 1,000,000 loans",
                target=at_full_scale(2.0, scale),
            ),
            Result(
                "reporting: management report (PDF)",
                management_s,
                "s",
                "raw fetch of both days' intervals",
                raw_roll_s,
                higher_is_better=False,
                detail=f"13 trend days, roll rates, vintages, collections; target < 30 s; "
                f"snapshot build {build_s:.2f} s/day",
                target=at_full_scale(30.0, scale),
            ),
        ]


# --- event ingest ---------------------------------------------------------------------------------


async def _timed_batches(
    batches: list[list[ConsumerRecord]],
    apply: Callable[[list[ConsumerRecord]], object],
    *,
    between: Callable[[], object],
) -> tuple[float, float]:
    """Apply every batch; return the seconds for all and for the last month's share of the events."""
    events = sum(len(b) for b in batches)
    last_month_from = events - sum(len(b) for b in batches[-len(batches) // INGEST_MONTHS :])
    started = last_refresh = time.perf_counter()
    done, last_month_started = 0, started
    for records in batches:
        if done <= last_month_from < done + len(records):
            last_month_started = time.perf_counter()
        await apply(records)  # type: ignore[misc]
        done += len(records)
        if time.perf_counter() - last_refresh >= REFRESH_EVERY_S:
            await between()  # type: ignore[misc]
            last_refresh = time.perf_counter()
    finished = time.perf_counter()
    return finished - started, finished - last_month_started


async def ingest(*, scale: float = 1.0) -> Result:
    """Events per second through reporting's consumer path, beside parse + executemany of the same records."""
    loans = max(200, int(10_000 * scale))
    started = time.perf_counter()
    batches = event_stream(loans)
    events = sum(len(b) for b in batches)
    last_month = sum(len(b) for b in batches[-len(batches) // INGEST_MONTHS :])
    print(
        f"reporting ingest: {loans:,} loans × {INGEST_MONTHS} months, {events:,} events in {len(batches):,} batches,"
        f" generated in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    tune_gc()
    async with scratch_database("bench_rpt_ingest", package="postloan_reporting") as (stack, url):
        engine = create_engine(url)
        sessions = session_factory(engine)
        consumer = Consumer(
            ConsumerConfig(name="reporting", topics=CONSUMES["reporting"], bootstrap_servers=stack.kafka_bootstrap),
            sessions=sessions,
            inbox=inbox,
            outbox=outbox,
            batch_handlers=batch_handlers(),
        )

        async def refresh() -> None:
            async with sessions.begin() as session:
                await snapshots.refresh_stale(session)

        ingest_s, last_month_s = await _timed_batches(batches, consumer.apply_batch, between=refresh)
        await engine.dispose()

        raw = await asyncpg.connect(sync_url(url))
        try:
            await raw.execute(
                "CREATE TABLE raw_event (event_id uuid PRIMARY KEY, type text NOT NULL, subject text NOT NULL,"
                " business_date date, data jsonb NOT NULL)"
            )

            async def raw_batch(records: list[ConsumerRecord]) -> None:
                parsed = [Envelope.from_bytes(r.value) for r in records]
                rows = [
                    (e.id, e.type, e.subject, e.business_date, r.value.decode())
                    for e, r in zip(parsed, records, strict=True)
                ]
                async with raw.transaction():
                    await raw.executemany(
                        "INSERT INTO raw_event VALUES ($1, $2, $3, $4, $5::jsonb -> 'data') ON CONFLICT DO NOTHING",
                        rows,
                    )

            async def nothing() -> None:
                return None

            raw_s, _ = await _timed_batches(batches, raw_batch, between=nothing)
        finally:
            await raw.close()
    rate, raw_rate, late_rate = events / ingest_s, events / raw_s, last_month / last_month_s
    print(
        f"  ingest {rate:,.0f} events/s ({late_rate:,.0f}/s over the last month's events); raw {raw_rate:,.0f}/s",
        flush=True,
    )
    return Result(
        "reporting: event ingest",
        rate,
        "events/s",
        "raw: parse + executemany of the same records",
        raw_rate,
        detail=f"{loans:,} loans × {INGEST_MONTHS} months, {events:,} events of every topic in batches of ≤ {BATCH}"
        f" per partition; {late_rate:,.0f}/s over the last month's {last_month:,}; target ≥ 10,000/s",
        target=10_000.0,
    )
