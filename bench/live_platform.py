"""Services run as real processes for benchmarks: each one's API (uvicorn) and worker, on a fresh broker.

The layout is that of `postloan up`: one freshly migrated database per service on the PostgreSQL
of `POSTGRES_URL` (else an embedded one) and, always, a broker of the run's own (an embedded
in-memory Tansu): the services use the catalog's fixed topic and group names, so a shared broker
would mix runs. Every process gets the settings it would get in production (poll intervals, batch
sizes, API pools are the defaults; workers get smaller pools, WORKER_ENV_OF, as the server is shared,
and a 6 s session timeout lets consumer groups form quickly); logs go to a temporary directory
whose tail is shown when a process dies.

`settle()` waits until nothing is in flight: every outbox drained and every consumer group's
committed offsets, summed per topic, equal to what was produced to that topic (published outbox
rows plus what the bench published itself; Tansu's end offsets are wrong, so they are not used).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from postloan_common.catalog import CONSUMES, SERVICES, ServiceSpec, all_topics
from postloan_common.db import drop_database, ensure_database, sync_url, with_database
from postloan_common.messaging.admin import ensure_topics
from postloan_common.messaging.envelope import Envelope
from postloan_common.messaging.kafka import make_producer
from postloan_common.migrations import service_dir, upgrade
from postloan_common.web import mint_token
from postloan_dev.devstack import DevStack, free_port, start_devstack
from postloan_dev.testing import other_private_key, public_key_of

PARTITIONS = 4
SESSION_TIMEOUT_MS = 6000
# Four services (APIs, consumers, relays) starting at once on two shared cores took over 120 s at load 10.
READY_TIMEOUT_S = 300.0
STOP_GRACE_S = 15.0

# Work a worker's periodic task still owes after its consumer caught up.
PERIODIC_WORK: dict[str, str] = {"reporting": "SELECT count(*) FROM rpt_snapshot WHERE stale"}


class PlatformError(RuntimeError):
    """A process died, or the platform did not come to rest in time."""


def spec_of(name: str) -> ServiceSpec:
    """The catalog entry of service `name`."""
    return next(spec for spec in SERVICES if spec.name == name)


@dataclass
class Service:
    """One service: its database, API and worker processes, and a bench connection to its database."""

    spec: ServiceSpec
    database: str
    database_url: str
    port: int
    env: dict[str, str]
    log_dir: Path
    conn: asyncpg.Connection | None = None
    api: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_path(self, kind: str) -> Path:
        return self.log_dir / f"{self.spec.name}-{kind}.log"

    def _spawn(self, kind: str, argv: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        log = self.log_path(kind).open("ab")
        self._logs.append(log)
        # A process group of its own, so stopping it reaches its children and nothing else.
        return subprocess.Popen(  # noqa: S603 - argv built from the catalog
            argv, env=dict(env), stdout=log, stderr=subprocess.STDOUT, process_group=0
        )

    def start(self, worker_env: Mapping[str, str]) -> None:
        api = [
            sys.executable, "-m", "uvicorn", f"{self.spec.package}.main:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log",
        ]  # fmt: skip
        self.api = self._spawn("api", api, self.env)
        worker = [sys.executable, "-m", f"{self.spec.package}.worker"]
        self.worker = self._spawn("worker", worker, {**self.env, **worker_env})

    def check_alive(self) -> None:
        for kind, process in (("api", self.api), ("worker", self.worker)):
            if process is not None and process.poll() is not None:
                tail = self.log_path(kind).read_text(errors="replace")[-3000:]
                raise PlatformError(f"{self.spec.name} {kind} exited with {process.returncode}:\n{tail}")

    def stop(self) -> None:
        """SIGTERM both processes, SIGKILL what is still there after the grace period."""
        running = [p for p in (self.api, self.worker) if p is not None and p.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        for log in self._logs:
            log.close()


def keep_alive_limits(connections: int) -> httpx.Limits:
    """Pool limits whose idle connections expire before uvicorn's 5 s keep-alive timeout closes them.

    With both at 5 s, a request sent on a connection the server is just closing fails with
    "Server disconnected without sending a response" (seen on a loaded machine).
    """
    return httpx.Limits(max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=2.0)


class Platform:
    """Some of the services on one fresh broker; publish to it, settle it, query its databases."""

    def __init__(self, *, stack: DevStack, services: dict[str, Service], jwt_secret: str) -> None:
        self.stack = stack
        self.services = services
        self.jwt_secret = jwt_secret
        self.published: Counter[str] = Counter()
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None

    @property
    def bootstrap(self) -> str:
        return self.stack.kafka_bootstrap

    def url(self, name: str) -> str:
        return self.services[name].url

    def token(self, role: str, sub: str = "bench") -> str:
        """A JWT for `role`, signed with the private key whose public half the services were given."""
        return mint_token(secret=self.jwt_secret, sub=sub, roles=[role])

    def client(self, name: str, *, role: str, connections: int = 4, timeout_s: float = 60.0) -> httpx.AsyncClient:
        """An HTTP client of service `name` carrying a token for `role`; the caller closes it."""
        return httpx.AsyncClient(
            base_url=self.url(name),
            headers={"Authorization": f"Bearer {self.token(role)}"},
            limits=keep_alive_limits(connections),
            timeout=timeout_s,
        )

    def check_alive(self) -> None:
        for service in self.services.values():
            service.check_alive()

    async def fetch(self, name: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        """Rows of a query on service `name`'s database."""
        conn = self.services[name].conn
        assert conn is not None
        return list(await conn.fetch(sql, *args))

    async def fetchval(self, name: str, sql: str, *args: Any) -> Any:
        conn = self.services[name].conn
        assert conn is not None
        return await conn.fetchval(sql, *args)

    async def publish(self, topic: str, envelopes: Iterable[Envelope]) -> int:
        """Produce events as core banking would (keyed by subject, acks=all); return how many."""
        if self._producer is None:
            self._producer = make_producer(self.bootstrap, client_id="bench-core-banking")
            await self._producer.start()
        futures = [
            await self._producer.send(topic, envelope.to_bytes(), key=envelope.subject.encode())
            for envelope in envelopes
        ]
        await asyncio.gather(*futures)
        self.published[topic] += len(futures)
        return len(futures)

    async def settle(self, what: str, *, timeout_s: float = 1800.0, progress_every_s: float = 15.0) -> float:
        """Wait until nothing is in flight; print what is left now and then; return the seconds waited."""
        started = time.monotonic()
        reported = started
        while True:
            self.check_alive()
            behind = await self.in_flight()
            if not behind:
                return time.monotonic() - started
            now = time.monotonic()
            if now - started > timeout_s:
                raise PlatformError(f"{what}: not settled after {timeout_s:.0f} s: {behind}")
            if now - reported >= progress_every_s:
                reported = now
                left = ", ".join(f"{k} {v}" for k, v in sorted(behind.items()))
                print(f"    {what}: {now - started:.0f} s, still in flight: {left}", flush=True)
            await asyncio.sleep(0.2)

    async def in_flight(self) -> dict[str, Any]:
        """Unpublished outbox rows, periodic work owed, and per group and topic the records not committed."""
        # Offsets first: a batch's effects (and its outbox rows) are committed before its offset is.
        committed = {name: await self._committed(name) for name in self.services}
        produced: Counter[str] = Counter(self.published)
        behind: dict[str, Any] = {}
        for name in self.services:
            rows = await self.fetch(
                name,
                "SELECT topic, count(*) FILTER (WHERE published_at IS NULL) AS pending,"
                " count(*) FILTER (WHERE published_at IS NOT NULL) AS published FROM outbox GROUP BY topic",
            )
            for row in rows:
                produced[row["topic"]] += row["published"]
                if row["pending"]:
                    behind[f"{name} outbox {row['topic']}"] = row["pending"]
            if name in PERIODIC_WORK and (owed := await self.fetchval(name, PERIODIC_WORK[name])):
                behind[f"{name} periodic"] = owed
        for name, topics in committed.items():
            for topic, offset in topics.items():
                if offset != produced[topic]:
                    behind[f"{name} on {topic}"] = f"{offset}/{produced[topic]}"
        return behind

    async def _committed(self, group: str) -> dict[str, int]:
        """Per topic the group consumes, the sum over partitions of its committed offsets."""
        if self._admin is None:
            self._admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
            await self._admin.start()
        topics = CONSUMES[group]
        # Tansu drops the connection on an OffsetFetch without explicit partitions.
        partitions = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]
        offsets = await self._admin.list_consumer_group_offsets(group, partitions=partitions)
        sums = dict.fromkeys(topics, 0)
        for tp, meta in offsets.items():
            sums[tp.topic] += max(meta.offset, 0)
        return sums

    async def dead_letters(self) -> dict[str, int]:
        """Per service, how many events its consumer dead-lettered."""
        found = {}
        for name in self.services:
            if count := await self.fetchval(name, "SELECT count(*) FROM outbox WHERE topic LIKE '%.dlt'"):
                found[name] = count
        return found

    async def close_clients(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
        if self._admin is not None:
            with contextlib.suppress(Exception):
                await self._admin.close()


def _service_env(
    spec: ServiceSpec, *, database_url: str, port: int, bootstrap: str, jwt_secret: str, initial_business_date: date
) -> dict[str, str]:
    prefix = spec.env_prefix
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
        "POSTLOAN_TOPIC_PARTITIONS": str(PARTITIONS),
        "POSTLOAN_JWT_PUBLIC_KEY": public_key_of(jwt_secret),
        "POSTLOAN_ENV": "production",
        "POSTLOAN_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"),
        "PYTHONUNBUFFERED": "1",
        "REPAYMENT_MONITOR_INITIAL_BUSINESS_DATE": initial_business_date.isoformat(),
        # Reminders go to providers that refuse at once, never to a server another run listens on.
        "CRM_SMTP_PORT": str(free_port()),
        "CRM_SMS_WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/sms",
        "CRM_PUSH_WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/push",
        f"{prefix}DATABASE_URL": database_url,
        f"{prefix}PORT": str(port),
        f"{prefix}METRICS_PORT": "0",
    }


# A worker holds one or two pooled connections at a time; APIs keep the default pool (10 + 10).
WORKER_ENV_OF = {
    spec.name: {f"{spec.env_prefix}DB_POOL_SIZE": "3", f"{spec.env_prefix}DB_MAX_OVERFLOW": "3"} for spec in SERVICES
}


async def _wait_ready(service: Service, deadline: float) -> None:
    async with httpx.AsyncClient(timeout=3) as client:
        while True:
            service.check_alive()
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{service.url}/health/ready")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise PlatformError(f"{service.spec.name} API not ready after {READY_TIMEOUT_S:.0f} s")
            await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def running_platform(names: Sequence[str], *, initial_business_date: date) -> AsyncIterator[Platform]:
    """Start the named services (API and worker each) on fresh databases and a fresh broker; stop them after."""
    environ = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    stack = start_devstack(environ=environ)
    jwt_secret = other_private_key()  # this run's issuer key; the services get its public half
    suffix = uuid.uuid4().hex[:6]
    logs = tempfile.TemporaryDirectory(prefix="bench-platform-")
    services: dict[str, Service] = {}
    platform = Platform(stack=stack, services=services, jwt_secret=jwt_secret)
    try:
        await ensure_topics(stack.kafka_bootstrap, all_topics(), partitions=PARTITIONS)
        for name in names:
            spec = spec_of(name)
            database = f"bench_{spec.package}_{suffix}"
            await ensure_database(stack.postgres_url, database)
            url = with_database(stack.postgres_url, database)
            port = free_port()
            env = _service_env(
                spec,
                database_url=url,
                port=port,
                bootstrap=stack.kafka_bootstrap,
                jwt_secret=jwt_secret,
                initial_business_date=initial_business_date,
            )
            services[name] = Service(spec, database, url, port, env, Path(logs.name))
            await asyncio.to_thread(upgrade, service_dir(spec.package), url)
        for name, service in services.items():
            service.start(WORKER_ENV_OF[name])
        deadline = time.monotonic() + READY_TIMEOUT_S
        for service in services.values():
            await _wait_ready(service, deadline)
            service.conn = await asyncpg.connect(sync_url(service.database_url))
        yield platform
    finally:
        await platform.close_clients()
        for service in services.values():
            service.stop()
            if service.conn is not None:
                with contextlib.suppress(Exception):
                    await service.conn.close()
        for service in services.values():
            with contextlib.suppress(Exception):
                await drop_database(stack.postgres_url, service.database)
        stack.stop()
        logs.cleanup()
