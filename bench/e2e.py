"""End-to-end latency from `payment-missed` to the collection case being open in crm.

repayment-monitor and crm run as `postloan up` runs them (bench.live_platform: API and worker
processes with their relays, production settings); nothing else runs, and crm needs nothing else to
open a case (a loan risk-alert has not scored is treated as low risk). The book: one loan per
customer, every loan current, first due dates dealt over 30 days from START, nothing ever repaid;
customers go in as customer-upserted events, loans through the bulk intake, and everything is
settled before the first close. Then DAYS closes of day through the API, each settled before the
next. Every installment due on the closed day is missed, so a close emits loans ÷ 30 payment-missed
in one burst, together with as many delinquency-changed (M0 → M1) and the payment-due reminders of
the coming week (4 per installment), the way a real close of day does.

Per missed payment:
- from the payment-missed outbox row's `created_at` in repayment-monitor: PostgreSQL's now(), the
  start of the close-of-day transaction that wrote it (the envelope's `time` is the same moment);
- to the moment its case is open in crm, i.e. committed and visible. No crm column says when that
  was: `cases.created_at` (like `case_events.at` and the case-opened outbox row) is now() of crm's
  consumer transaction, which begins before the first event of a polled batch (up to 500) is
  handled and commits after the last. So the bench watches crm's cases table every POLL_S and
  stamps each case with PostgreSQL's clock_timestamp() of the first poll that sees it. Both ends
  are stamped by the same PostgreSQL server's clock. The figure to `cases.created_at` is given
  beside it, and the stages (medians) in the detail.

Raw ceiling, same run, same broker: the broker's own produce → consume latency for the very same
messages (each day's payment-missed records as bytes, with their keys), produced in bursts of the
same size by a producer with the platform's settings (make_producer: acks=all, lz4, linger 5 ms)
and read by a consumer with the platform's settings (make_consumer, getmany of up to 500 records
with a 200 ms timeout, as the services' consumer loop); per record from just before send() to the
getmany() that returns it. The same with the consumer's fetch_max_wait_ms at 100 ms instead of 500
is shown beside: Tansu holds a fetch until that wait runs out even when records arrive, so it
bounds every consumer hop of the platform.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median

from bench.live_book import bulk_intake, close_day, customer_event, loan_line
from bench.live_platform import (
    SESSION_TIMEOUT_MS,
    Platform,
    PlatformError,
    running_platform,
)
from bench.report import Latencies, Result, latency_results
from postloan_common.catalog import CORE_BANKING_CUSTOMERS
from postloan_common.messaging.admin import ensure_topics
from postloan_common.messaging.kafka import make_consumer, make_producer

START = date(2026, 3, 2)
DAYS = 5
POLL_S = 0.01
CASE_TIMEOUT_S = 600.0
# Tansu answers a fetch only when its wait runs out, so the wait bounds every consumer hop; shown beside.
SHORT_FETCH_WAIT_MS = 100
SERVICES = ("repayment-monitor", "crm")


@dataclass(frozen=True)
class Missed:
    """One payment-missed event as repayment-monitor's outbox holds it."""

    loan_id: str
    created_at: datetime
    published_at: datetime | None
    key: bytes
    payload: bytes


def seconds_between(start: Mapping[str, datetime], end: Mapping[str, datetime]) -> list[float]:
    """For every key of `start`, the seconds until the same key's `end`; every key must have an end."""
    missing = [key for key in start if key not in end]
    if missing:
        raise ValueError(f"{len(missing)} without an end, e.g. {missing[:3]}")
    return [(end[key] - at).total_seconds() for key, at in start.items()]


def stage_medians(stages: Mapping[str, Sequence[float]]) -> str:
    """'name <median> ms' for every stage, in order."""
    return ", ".join(f"{name} {median(values) * 1000:,.0f} ms" for name, values in stages.items())


def book_lines(loans: int) -> list[str]:
    """One current loan per customer, first due dates dealt over the 30 days from START."""
    return [
        loan_line(
            loan_id=f"L{i:07d}",
            customer_id=f"C{i:07d}",
            product="consumer-12m",
            months=12,
            branch="SH01",
            first_due=START + timedelta(days=i % 30),
        )
        for i in range(loans)
    ]


async def _watch_cases(platform: Platform, since: datetime, seen: dict[str, datetime], stop: asyncio.Event) -> None:
    """Stamp every case that appears in crm with the database clock of the poll that first sees it."""
    watermark = since
    while not stop.is_set():
        rows = await platform.fetch(
            "crm",
            "SELECT loan_id, created_at, clock_timestamp() AS seen FROM cases WHERE created_at > $1",
            watermark,
        )
        for row in rows:
            seen.setdefault(row["loan_id"], row["seen"])
            watermark = max(watermark, row["created_at"])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), POLL_S)


async def _missed_since(platform: Platform, after_id: int) -> tuple[int, list[Missed]]:
    rows = await platform.fetch(
        "repayment-monitor",
        "SELECT id, key, created_at, published_at, payload FROM outbox"
        " WHERE event_type = 'payment-missed' AND id > $1 ORDER BY id",
        after_id,
    )
    last = max((r["id"] for r in rows), default=after_id)
    return last, [Missed(r["key"], r["created_at"], r["published_at"], r["key"].encode(), r["payload"]) for r in rows]


@dataclass
class Day:
    day: date
    missed: list[Missed]
    answered_at: datetime
    close_ms: int
    seen: dict[str, datetime]
    created: dict[str, datetime]


async def _close_and_watch(platform: Platform, day: date, after_id: int) -> tuple[int, Day]:
    """Close `day`, watch crm until every payment missed that day has its case, then settle."""
    since = await platform.fetchval("crm", "SELECT clock_timestamp()")
    seen: dict[str, datetime] = {}
    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch_cases(platform, since, seen, stop))
    try:
        closed = await close_day(platform, day)
        answered_at = await platform.fetchval("repayment-monitor", "SELECT clock_timestamp()")
        last_id, missed = await _missed_since(platform, after_id)
        expected = {m.loan_id for m in missed}
        deadline = time.monotonic() + CASE_TIMEOUT_S
        while not expected <= seen.keys():
            platform.check_alive()
            if watcher.done():
                watcher.result()
            if time.monotonic() > deadline:
                raise PlatformError(f"{day}: {len(expected - seen.keys())} missed payments without a case")
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await watcher
    await platform.settle(f"close of {day}")
    _, missed = await _missed_since(platform, after_id)  # now with published_at
    cases = await platform.fetch(
        "crm", "SELECT loan_id, created_at FROM cases WHERE loan_id = ANY($1::text[])", [m.loan_id for m in missed]
    )
    created = {r["loan_id"]: r["created_at"] for r in cases}
    return last_id, Day(day, missed, answered_at, closed["stats"]["duration_ms"], seen, created)


async def _broker_bursts(
    bootstrap: str, bursts: Sequence[Sequence[tuple[bytes, bytes]]], *, fetch_max_wait_ms: int | None = None
) -> list[float]:
    """Seconds from send() to getmany() of every record, produced burst after burst on a fresh topic.

    The consumer is the platform's (make_consumer); `fetch_max_wait_ms` overrides how long a fetch
    may wait at the broker for data (aiokafka's default, which make_consumer keeps, is 500 ms).
    """
    topic = f"bench.e2e-raw.{uuid.uuid4().hex[:6]}"
    await ensure_topics(bootstrap, [topic], partitions=4)
    consumer = make_consumer(
        topic, bootstrap_servers=bootstrap, group_id=f"bench-{topic}", session_timeout_ms=SESSION_TIMEOUT_MS
    )
    if fetch_max_wait_ms is not None:
        consumer._fetch_max_wait_ms = fetch_max_wait_ms  # read when start() builds the fetcher
    producer = make_producer(bootstrap, client_id="bench-raw")
    await consumer.start()
    await producer.start()
    received: dict[int, float] = {}
    try:
        while len(consumer.assignment()) < 4:
            await consumer.getmany(timeout_ms=100)

        async def receive() -> None:
            while True:
                batch = await consumer.getmany(timeout_ms=200, max_records=500)
                now = time.perf_counter()
                for records in batch.values():
                    for record in records:
                        received[int(dict(record.headers)["bench-seq"])] = now

        receiver = asyncio.create_task(receive())
        sent: dict[int, float] = {}
        try:
            seq = 0
            for burst in bursts:
                futures = []
                for key, value in burst:
                    sent[seq] = time.perf_counter()
                    futures.append(
                        await producer.send(topic, value, key=key, headers=[("bench-seq", str(seq).encode())])
                    )
                    seq += 1
                await asyncio.gather(*futures)
                while len(received) < seq:
                    if receiver.done():
                        receiver.result()
                    await asyncio.sleep(0.01)
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receiver
        return [received[i] - sent[i] for i in sorted(sent)]
    finally:
        await producer.stop()
        await consumer.stop()


async def run(*, scale: float = 1.0) -> list[Result]:
    """Close DAYS days over a book where every installment falling due is missed; time each missed payment's case."""
    loans = max(1500, int(20_000 * scale))
    print(f"e2e: {loans:,} loans, {DAYS} closes of day with ~{loans // 30:,} missed payments each", flush=True)
    async with running_platform(SERVICES, initial_business_date=START) as platform:
        started = time.monotonic()
        await platform.publish(CORE_BANKING_CUSTOMERS, (customer_event(f"C{i:07d}", i) for i in range(loans)))
        intake = await bulk_intake(platform, book_lines(loans))
        await platform.settle("book")
        print(f"  book loaded in {intake:.1f} s, settled in crm after {time.monotonic() - started:.0f} s", flush=True)
        days: list[Day] = []
        last_id = 0
        for offset in range(DAYS):
            last_id, day = await _close_and_watch(platform, START + timedelta(days=offset), last_id)
            days.append(day)
            took = seconds_between({m.loan_id: m.created_at for m in day.missed}, day.seen)
            print(
                f"  closed {day.day}: {len(day.missed):,} payments missed, every case open after "
                f"{max(took):.2f} s (median {median(took):.2f} s)",
                flush=True,
            )
        if dead := await platform.dead_letters():
            raise PlatformError(f"events were dead-lettered: {dead}")
        bursts = [[(m.key, m.payload) for m in d.missed] for d in days]
        raw = await _broker_bursts(platform.bootstrap, bursts)
        short_wait = await _broker_bursts(platform.bootstrap, bursts, fetch_max_wait_ms=SHORT_FETCH_WAIT_MS)

    stages: dict[str, list[float]] = {"close-of-day answered": [], "published": [], "crm tx began": [], "visible": []}
    for day in days:
        created = {m.loan_id: m.created_at for m in day.missed}
        published = {m.loan_id: m.published_at for m in day.missed if m.published_at is not None}
        stages["close-of-day answered"] += [(day.answered_at - at).total_seconds() for at in created.values()]
        stages["published"] += seconds_between(created, published)
        stages["crm tx began"] += seconds_between(created, day.created)
        stages["visible"] += seconds_between(created, day.seen)
    ours = Latencies.of(stages["visible"])
    stamped = Latencies.of(stages["crm tx began"])
    broker = Latencies.of(raw)
    broker_short_wait = Latencies.of(short_wait)
    sizes = sorted(len(m.payload) for d in days for m in d.missed)
    print(f"  open in crm: {ours.describe()}; to cases.created_at: {stamped.describe()}", flush=True)
    print(f"  stages from the outbox row's created_at (medians): {stage_medians(stages)}", flush=True)
    print(f"  broker produce → consume, same records in the same bursts: {broker.describe()}", flush=True)
    print(f"  … with fetch_max_wait_ms={SHORT_FETCH_WAIT_MS}: {broker_short_wait.describe()}", flush=True)
    detail = (
        f"{ours.count:,} missed payments over {DAYS} closes of {loans:,} loans (~{loans // 30:,} per burst, with "
        "as many delinquency-changed and ~4× as many payment-due); repayment-monitor + crm only, production settings. "
        f"To cases.created_at (crm's transaction start): p50 {stamped.p50 * 1000:,.0f} ms, "
        f"p99 {stamped.p99 * 1000:,.0f} ms. Cumulative medians from the outbox row: {stage_medians(stages)} "
        f"(close_day's own duration_ms: median {median(d.close_ms for d in days):,.0f} ms). "
        f"Records {sizes[len(sizes) // 2]} bytes (median); broker {broker.describe()}; with the consumer's "
        f"fetch_max_wait_ms at {SHORT_FETCH_WAIT_MS} instead of 500: {broker_short_wait.describe()}"
    )
    return latency_results(
        "e2e payment-missed -> case open in crm",
        ours,
        ceiling_name="broker produce->consume, same bursts,",
        ceiling=broker,
        detail=detail,
    )
