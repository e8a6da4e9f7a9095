"""The whole platform as real processes for fault tests: four APIs and four workers, a fresh broker.

Each platform gets its own in-memory Tansu broker (the services use the catalog's fixed topic and
group names, so two runs on one broker would mix) and one freshly migrated database per service.
APIs (uvicorn) and workers (`python -m <package>.worker`) are subprocesses, so a test can SIGKILL
and restart them the way an orchestrator would.

`settle()` waits until nothing is in flight: every outbox drained, and every consumer group's
committed offsets equal to the partitions' high-water marks. The marks come from a plain consumer
(`Tap`) that reads every topic: Tansu answers `end_offsets()` wrongly, but the high-water mark in
a fetch response is right. The tap also keeps every record, so a test can count what a topic holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from postloan_common.catalog import CONSUMES, SERVICES, ServiceSpec, all_topics
from postloan_common.db import sync_url, with_database
from postloan_common.messaging.admin import ensure_topics
from postloan_dev.devstack import Tansu, free_port

PARTITIONS = 4
SESSION_TIMEOUT_MS = 6000
START = date(2026, 1, 1)
READY_TIMEOUT_S = 90.0
# The harness's own connections carry this name, so dropping a service's connections spares them.
HARNESS_APP = "fault-harness"


# Work a worker's periodic task (not its consumer) still owes, as a count: reporting rebuilds the
# daily snapshots that late events marked stale every few seconds.
PERIODIC_WORK: dict[str, dict[str, str]] = {
    "reporting": {"stale snapshots": "SELECT count(*) FROM rpt_snapshot WHERE stale"},
}


# Worker log events that show a fault was met and recovered from.
RECOVERY_EVENTS = (
    "batch rolled back, retrying",
    "outbox relay database error, retrying",
    "outbox publish failed, will retry",
    "offset commit failed",
    "event dead-lettered",
)


class NotSettled(AssertionError):
    """The platform did not come to rest in time."""


def _spawn(argv: list[str], *, env: dict[str, str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    # A process group of its own: a kill reaches the process and nothing else of the test run.
    return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, process_group=0)


def _kill(process: subprocess.Popen[bytes] | None, sig: signal.Signals = signal.SIGKILL) -> None:
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


@dataclass
class Service:
    """One service's API and worker processes, its database and a harness connection to it."""

    spec: ServiceSpec
    database_url: str
    env: dict[str, str]
    port: int
    log_dir: Path
    conn: asyncpg.Connection
    api: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    restarts: dict[str, int] = field(default_factory=lambda: {"api": 0, "worker": 0})
    # Processes killed on purpose and not restarted yet: not a failure.
    down: set[str] = field(default_factory=set)
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database(self) -> str:
        return self.database_url.rsplit("/", 1)[-1]

    def _log(self, kind: str) -> IO[bytes]:
        log = (self.log_dir / f"{self.name}-{kind}.log").open("ab")
        self._logs.append(log)
        return log

    def start_api(self) -> None:
        argv = [
            sys.executable, "-m", "uvicorn", f"{self.spec.package}.main:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log",
        ]  # fmt: skip
        self.api = _spawn(argv, env=self.env, log=self._log("api"))
        self.down.discard("api")

    def start_worker(self) -> None:
        self.worker = _spawn(
            [sys.executable, "-m", f"{self.spec.package}.worker"], env=self.env, log=self._log("worker")
        )

    def kill_worker(self) -> None:
        """SIGKILL the worker: no shutdown, no leaving the group, transactions cut off mid-way."""
        self.down.add("worker")
        _kill(self.worker)
        self.restarts["worker"] += 1

    def kill_api(self) -> None:
        self.down.add("api")
        _kill(self.api)
        self.restarts["api"] += 1

    def check_alive(self) -> None:
        for kind, process in (("api", self.api), ("worker", self.worker)):
            if kind not in self.down and process is not None and process.poll() is not None:
                tail = (self.log_dir / f"{self.name}-{kind}.log").read_text(errors="replace")[-3000:]
                raise AssertionError(f"{self.name} {kind} exited with {process.returncode}:\n{tail}")

    async def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Wait until the API answers /health/ready (database and broker reachable)."""
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=3) as client:
            while True:
                self.check_alive()
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.base_url}/health/ready")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise NotSettled(f"{self.name} API not ready after {timeout_s}s")
                await asyncio.sleep(0.2)

    def stop(self) -> None:
        # SIGTERM first: a clean exit leaves the consumer group at once and closes its connections.
        for process in (self.api, self.worker):
            _kill(process, signal.SIGTERM)
        for log in self._logs:
            log.close()


class Tap:
    """A plain consumer (no group) of every partition of every topic, from the beginning.

    It keeps every record and, after each fetch, the partition's high-water mark and the time of
    that fetch, so `highwater_after(t)` can insist on marks fetched after `t`.
    """

    def __init__(self, bootstrap: str, topics: list[str], partitions: int) -> None:
        self.partitions = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=50,
            client_id="fault-tap",
        )
        self.records: dict[TopicPartition, list[ConsumerRecord]] = {tp: [] for tp in self.partitions}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self.consumer.assign(self.partitions)
        await self.consumer.seek_to_beginning(*self.partitions)
        self._task = asyncio.create_task(self._run(), name="fault-tap")

    async def _run(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=100, max_records=5000)
            for tp, records in batches.items():
                self.records[tp].extend(records)

    async def highwater_after(self, since_ms: float, timeout_s: float = 30.0) -> dict[TopicPartition, int]:
        """Every partition's high-water mark, as answered by a fetch that happened after `since_ms`."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self._task is not None and self._task.done():
                self._task.result()
                raise AssertionError("the tap stopped")
            stale = [tp for tp in self.partitions if (self.consumer.last_poll_timestamp(tp) or 0) <= since_ms]
            if not stale:
                return {tp: self.consumer.highwater(tp) or 0 for tp in self.partitions}
            if time.monotonic() > deadline:
                raise NotSettled(f"no fresh fetch for {stale[:3]} ...")
            await asyncio.sleep(0.05)

    def topic(self, topic: str) -> list[ConsumerRecord]:
        """Every record read so far from `topic`, partition by partition."""
        return [r for tp in self.partitions if tp.topic == topic for r in self.records[tp]]

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.consumer.stop()


class Platform:
    """The four services on one broker; settle, inspect and disturb them."""

    def __init__(self, name: str, broker: Tansu, services: dict[str, Service], admin_conn: asyncpg.Connection) -> None:
        self.name = name
        self.broker = broker
        self.services = services
        self.admin_conn = admin_conn  # on the server's `postgres` database
        self._admin_lock = asyncio.Lock()  # disturbances run concurrently; a connection runs one query
        self.tap = Tap(broker.bootstrap, all_topics(), PARTITIONS)
        self.admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
        self.terminated_backends = 0
        self.busy_drops = 0  # drops that caught a connection inside a statement or transaction

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    def check_alive(self) -> None:
        for service in self.services.values():
            service.check_alive()

    # -- settling ----------------------------------------------------------------------------

    async def settle(self, timeout_s: float = 120.0, *, periodic: bool = True) -> None:
        """Wait until every outbox is drained and every group has committed up to every high-water mark.

        With `periodic`, also until the workers' periodic tasks have done what they owe.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            self.check_alive()
            behind = await self.in_flight(periodic=periodic)
            if not behind:
                return
            if time.monotonic() > deadline:
                raise NotSettled(f"platform not settled after {timeout_s}s: {behind}")
            await asyncio.sleep(0.05)

    async def in_flight(self, *, periodic: bool = True) -> dict[str, Any]:
        """What is not done yet: pending outbox rows, and per group and partition committed < high-water."""
        # Order matters. Committed offsets first: a batch's effects (and outbox rows) are in the
        # database before its offset is committed. Then the outboxes: a relay marks a row only after
        # the broker acknowledged it. Then marks from fetches after that, so every event published
        # before the outbox check is below them. Equal offsets and marks then mean nothing is left.
        committed: dict[str, dict[TopicPartition, int]] = {}
        for name in self.services:
            partitions = [TopicPartition(t, p) for t in CONSUMES[name] for p in range(PARTITIONS)]
            # Named partitions: Tansu cannot answer the "every partition" form of OffsetFetch.
            offsets = await self.admin.list_consumer_group_offsets(name, partitions=partitions)
            committed[name] = {tp: max(meta.offset, 0) for tp, meta in offsets.items()}
        behind: dict[str, Any] = {}
        for name, service in self.services.items():
            pending = await service.conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            if pending:
                behind[f"{name} outbox"] = pending
            for what, sql in PERIODIC_WORK.get(name, {}).items() if periodic else ():
                if pending := await service.conn.fetchval(sql):
                    behind[f"{name} {what}"] = pending
        checked_ms = time.time() * 1000
        marks = await self.tap.highwater_after(checked_ms)
        for name in self.services:
            for tp in (TopicPartition(t, p) for t in CONSUMES[name] for p in range(PARTITIONS)):
                done = committed[name].get(tp, 0)
                if done != marks[tp]:
                    behind[f"{name} {tp.topic}[{tp.partition}]"] = f"{done}/{marks[tp]}"
        return behind

    # -- disturbing --------------------------------------------------------------------------

    async def terminate_backends(self, name: str, *, busy_within_s: float = 2.0) -> int:
        """Drop every PostgreSQL connection a service's processes hold; return how many.

        Waits up to `busy_within_s` for one of them to be inside a statement or transaction, so the
        drop cuts work in flight rather than only idle pool connections (which a pre-ping replaces).
        """
        database = self.services[name].database
        deadline = time.monotonic() + busy_within_s
        while time.monotonic() < deadline:
            async with self._admin_lock:
                busy = await self.admin_conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name <> $2"
                    " AND state IN ('active', 'idle in transaction') AND pid <> pg_backend_pid()",
                    database,
                    HARNESS_APP,
                )
            if busy:
                self.busy_drops += 1
                break
            await asyncio.sleep(0.005)
        async with self._admin_lock:
            rows = await self.admin_conn.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name <> $2",
                database,
                HARNESS_APP,
            )
        self.terminated_backends += len(rows)
        return len(rows)

    # -- inspecting --------------------------------------------------------------------------

    def log_counts(self) -> dict[str, int]:
        """How often the workers logged that they recovered from something (a log event's count)."""
        counts: dict[str, int] = {}
        for service in self.services.values():
            text = (service.log_dir / f"{service.name}-worker.log").read_text(errors="replace")
            for event in RECOVERY_EVENTS:
                if found := text.count(f'"event": "{event}"'):
                    counts[f"{service.name}: {event}"] = found
        return counts

    async def fetch(self, name: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        return list(await self.services[name].conn.fetch(sql, *args))

    async def start(self) -> None:
        await self.admin.start()
        await self.tap.start()

    async def stop(self) -> None:
        for service in self.services.values():
            service.stop()
        await self.tap.stop()
        with contextlib.suppress(Exception):
            await self.admin.close()


def service_env(spec: ServiceSpec, *, database_url: str, port: int, bootstrap: str) -> dict[str, str]:
    """The environment of a service's processes, as `postloan up` would set it."""
    prefix = spec.env_prefix
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
        "POSTLOAN_TOPIC_PARTITIONS": str(PARTITIONS),
        "POSTLOAN_ENV": "test",
        "POSTLOAN_LOG_LEVEL": os.environ.get("FAULTS_LOG_LEVEL", "WARNING"),
        "REPAYMENT_MONITOR_INITIAL_BUSINESS_DATE": START.isoformat(),
        f"{prefix}DATABASE_URL": database_url,
        f"{prefix}PORT": str(port),
        f"{prefix}METRICS_PORT": "0",
        # Small pools: eight processes share a test server with a modest max_connections.
        f"{prefix}DB_POOL_SIZE": "2",
        f"{prefix}DB_MAX_OVERFLOW": "3",
        f"{prefix}OUTBOX_POLL_INTERVAL_S": "0.2",
    }


PlatformFactory = Callable[[str], Awaitable[Platform]]


@pytest.fixture
async def start_platform(
    migrated_database: Callable[[str], Awaitable[str]], devstack: Any, tmp_path: Path
) -> AsyncIterator[PlatformFactory]:
    """Return `start(run_name)`: a fresh broker, fresh databases, every API and worker running and ready."""
    started: list[tuple[Platform, Tansu, list[asyncpg.Connection]]] = []

    async def start(run_name: str) -> Platform:
        log_dir = tmp_path / run_name
        log_dir.mkdir()
        broker = Tansu(log_path=log_dir / "tansu.log").start()
        conns: list[asyncpg.Connection] = []
        settings = {"application_name": HARNESS_APP}
        try:
            await ensure_topics(broker.bootstrap, all_topics(), partitions=PARTITIONS)
            admin_conn = await asyncpg.connect(
                sync_url(with_database(devstack.postgres_url, "postgres")), server_settings=settings
            )
            conns.append(admin_conn)
            services: dict[str, Service] = {}
            for spec in SERVICES:
                url = await migrated_database(spec.package)
                conn = await asyncpg.connect(sync_url(url), server_settings=settings)
                conns.append(conn)
                port = free_port()
                env = service_env(spec, database_url=url, port=port, bootstrap=broker.bootstrap)
                services[spec.name] = Service(spec, url, env, port, log_dir, conn)
            platform = Platform(run_name, broker, services, admin_conn)
        except BaseException:
            broker.stop()
            for conn in conns:
                await conn.close()
            raise
        started.append((platform, broker, conns))
        await platform.start()
        for service in services.values():
            service.start_api()
            service.start_worker()
        for service in services.values():
            await service.wait_ready()
        return platform

    yield start
    for platform, broker, conns in reversed(started):
        await platform.stop()
        broker.stop()
        for conn in conns:
            with contextlib.suppress(Exception):
                await conn.close()
