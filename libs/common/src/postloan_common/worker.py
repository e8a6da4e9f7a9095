"""The worker process of a service: outbox relay, event consumer, periodic jobs and worker metrics."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any

from prometheus_client import start_http_server
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postloan_common.catalog import all_topics
from postloan_common.db import create_engine, session_factory, sync_url
from postloan_common.logging import configure_logging, get_logger
from postloan_common.messaging.admin import ensure_topics
from postloan_common.messaging.consumer import Barrier, BatchHook, Consumer, ConsumerConfig, Decoder, Handler
from postloan_common.messaging.relay import OutboxRelay, RelayConfig
from postloan_common.settings import ServiceSettings

log = get_logger(__name__)

Sessions = async_sessionmaker[AsyncSession]
WorkerTask = Callable[[Sessions, asyncio.Event], Awaitable[None]]

METRICS_PORT_OFFSET = 1000
SHUTDOWN_GRACE_S = 8.0


def run_worker(
    *,
    settings: ServiceSettings,
    tables: tuple[Table, Table],
    handlers: Mapping[str, Handler] | None = None,
    batch_handlers: Mapping[str, BatchHook] | None = None,
    topics: Sequence[str] = (),
    extra_tasks: Sequence[WorkerTask] = (),
    metrics_port: int | None = None,
    barrier: Barrier | None = None,
    decode: Decoder | None = None,
) -> None:
    """Run the worker until SIGTERM/SIGINT; exit 1 when one of its tasks crashes."""
    configure_logging(service=settings.service_name, level=settings.log_level, json=settings.log_json)
    tune_gc()
    code = asyncio.run(
        serve_worker(
            settings=settings,
            tables=tables,
            handlers=handlers or {},
            batch_handlers=batch_handlers or {},
            topics=topics,
            extra_tasks=extra_tasks,
            barrier=barrier,
            decode=decode,
            metrics_port=resolve_metrics_port(settings=settings, metrics_port=metrics_port),
        )
    )
    if code:
        raise SystemExit(code)


def tune_gc() -> None:
    """Collect garbage less often in a worker process.

    A batch handler allocates some 100,000 short-lived objects per batch; with the default
    thresholds the collector ran full passes over the warm heap several times a batch (a third
    of repayment ingest's time). Objects alive at start-up are frozen out of every pass.
    """
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def resolve_metrics_port(*, settings: ServiceSettings, metrics_port: int | None) -> int:
    """Return the worker metrics port: the one given, else the service's API port + 1000; 0 is off."""
    if metrics_port is not None:
        return metrics_port
    api_port = getattr(settings, "port", None)
    return int(api_port) + METRICS_PORT_OFFSET if api_port else 0


async def serve_worker(
    *,
    settings: ServiceSettings,
    tables: tuple[Table, Table],
    handlers: Mapping[str, Handler],
    topics: Sequence[str],
    batch_handlers: Mapping[str, BatchHook] | None = None,
    extra_tasks: Sequence[WorkerTask] = (),
    metrics_port: int = 0,
    stop: asyncio.Event | None = None,
    barrier: Barrier | None = None,
    decode: Decoder | None = None,
) -> int:
    """Run relay, consumer and extra tasks until `stop` or a signal; return the exit code."""
    stop = stop or asyncio.Event()
    restore_signals = _stop_on_signals(stop)
    engine = create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        echo=settings.db_echo,
    )
    metrics_server = None
    try:
        metrics_server = _start_metrics_server(metrics_port)
        if not await _until_stopped(_ensure_platform_topics(settings), stop):
            return 0
        sessions = session_factory(engine)
        tasks = _worker_tasks(
            settings=settings,
            tables=tables,
            handlers=handlers,
            batch_handlers=batch_handlers or {},
            topics=topics,
            sessions=sessions,
            stop=stop,
            barrier=barrier,
            decode=decode,
        )
        for index, task in enumerate(extra_tasks):
            tasks[f"{getattr(task, '__name__', 'task')}-{index}"] = task(sessions, stop)
        log.info("worker started", tasks=sorted(tasks), metrics_port=metrics_port or None)
        return await supervise(tasks, stop)
    except Exception:
        log.exception("worker failed to start")
        return 1
    finally:
        if metrics_server is not None:
            metrics_server.shutdown()
            metrics_server.server_close()
        # Disposing can hang on connections the server already dropped; exit regardless.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(engine.dispose(), 5)
        restore_signals()
        log.info("worker stopped")


def _worker_tasks(
    *,
    settings: ServiceSettings,
    tables: tuple[Table, Table],
    handlers: Mapping[str, Handler],
    batch_handlers: Mapping[str, BatchHook],
    topics: Sequence[str],
    sessions: Sessions,
    stop: asyncio.Event,
    barrier: Barrier | None = None,
    decode: Decoder | None = None,
) -> dict[str, Awaitable[None]]:
    outbox, inbox = tables
    relay = OutboxRelay(
        RelayConfig(
            service=settings.service_name,
            dsn=sync_url(settings.database_url),
            bootstrap_servers=settings.kafka_bootstrap_servers,
            batch_size=settings.outbox_batch_size,
            poll_interval_s=settings.outbox_poll_interval_s,
            retention_s=settings.outbox_retention_hours * 3600,
            idempotent=settings.kafka_idempotent_producer,
        )
    )
    tasks: dict[str, Awaitable[None]] = {"outbox-relay": relay.run(stop)}
    if topics and (handlers or batch_handlers):
        consumer = Consumer(
            ConsumerConfig(
                name=settings.service_name,
                topics=topics,
                bootstrap_servers=settings.kafka_bootstrap_servers,
                batch_size=settings.consumer_batch_size,
                poll_timeout_ms=settings.consumer_poll_timeout_ms,
                session_timeout_ms=settings.kafka_session_timeout_ms,
            ),
            sessions=sessions,
            inbox=inbox,
            outbox=outbox,
            handlers=handlers,
            batch_handlers=batch_handlers,
            barrier=barrier,
            decode=decode,
        )
        tasks["consumer"] = consumer.run(stop)
    elif handlers:
        log.warning("handlers given without topics: no consumer runs", handlers=sorted(handlers))
    return tasks


async def supervise(
    jobs: Mapping[str, Awaitable[None]], stop: asyncio.Event, *, grace_s: float = SHUTDOWN_GRACE_S
) -> int:
    """Run `jobs` until `stop` is set or one crashes; then stop the rest; return the exit code."""
    tasks: set[asyncio.Task[Any]] = {_named_task(job, name) for name, job in jobs.items()}
    stopper: asyncio.Task[Any] = asyncio.create_task(stop.wait(), name="stop")
    code = 0
    pending = set(tasks)
    try:
        while pending and not stop.is_set():
            done, pending = await asyncio.wait(pending | {stopper}, return_when=asyncio.FIRST_COMPLETED)
            pending.discard(stopper)
            for task in done - {stopper}:
                if _report(task, stopping=stop.is_set()):
                    code = 1
                    stop.set()
    finally:
        stop.set()
        stopper.cancel()
        if pending:
            done, late = await asyncio.wait(pending, timeout=grace_s)
            for task in late:
                log.warning("task did not stop in time, cancelling", task=task.get_name())
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            for task in done:
                _report(task, stopping=True)
    return code


def _named_task(job: Awaitable[None], name: str) -> asyncio.Task[Any]:
    task = asyncio.ensure_future(job)
    task.set_name(name)
    return task


def _report(task: asyncio.Task[Any], *, stopping: bool) -> bool:
    """Log how `task` ended; return True when it crashed."""
    if task.cancelled():
        return False
    exc = task.exception()
    if exc is None:
        if not stopping:
            log.info("task finished", task=task.get_name())
        return False
    log.error("task crashed", task=task.get_name(), exc_info=exc)
    return True


async def _ensure_platform_topics(settings: ServiceSettings) -> None:
    # Tansu loses records produced to a topic before it exists, so topics come first.
    await ensure_topics(
        settings.kafka_bootstrap_servers,
        all_topics(),
        partitions=settings.kafka_topic_partitions,
        replication_factor=settings.kafka_replication_factor,
    )


async def _until_stopped(coro: Coroutine[Any, Any, Any], stop: asyncio.Event) -> bool:
    """Await `coro` unless `stop` is set first; return False when it was interrupted."""
    work = asyncio.ensure_future(coro)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if not work.done():
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await work
        return False
    work.result()
    return True


def _stop_on_signals(stop: asyncio.Event) -> Callable[[], None]:
    """Let SIGTERM and SIGINT set `stop`; return a function that undoes it."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, _on_signal, sig, stop)
            installed.append(sig)

    def restore() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)

    return restore


def _on_signal(sig: signal.Signals, stop: asyncio.Event) -> None:
    log.info("stopping worker", signal=sig.name)
    stop.set()


def _start_metrics_server(port: int) -> Any:
    """Serve Prometheus metrics on `port` (0: not at all); return the server to shut down."""
    if not port:
        return None
    server, _thread = start_http_server(port)
    return server
