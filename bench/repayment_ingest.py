"""repayment-monitor bench driving: the service's repayment-posted consumer and the relay over queued repayments."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.db import create_engine, session_factory, sync_url
from postloan_common.messaging.consumer import Consumer, ConsumerConfig
from postloan_common.messaging.envelope import Envelope
from postloan_common.messaging.relay import OutboxRelay, RelayConfig
from postloan_common.worker import tune_gc
from postloan_repayment_monitor.domain.rules import BucketScheme
from postloan_repayment_monitor.settings import Settings
from postloan_repayment_monitor.store.tables import inbox, outbox

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
