"""The whole platform in one process for end-to-end tests: four APIs, four workers, one fresh broker.

Each test gets a fresh in-memory Tansu broker (the services use the catalog's fixed topic and
group names, so a shared broker would mix tests) and one freshly migrated database per service.
The APIs run behind httpx.ASGITransport; the workers are `serve_worker` tasks on the test's loop,
wired as each service's worker.py wires them.

`settle()` waits until nothing is in flight: every outbox is drained and every consumer group
has committed, on every topic it consumes, as many records as were produced to that topic. The
broker's end offsets are not used (Tansu's are wrong); the count of produced records is known
exactly: the outbox rows the relays marked published plus what the test itself published.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI
from sqlalchemy import Table, make_url

from postloan_common.catalog import (
    CONSUMES,
    CORE_BANKING_CUSTOMERS,
    CORE_BANKING_LOANS,
    SERVICES,
    ServiceSpec,
    all_topics,
)
from postloan_common.contracts import (
    CustomerUpsertedV1,
    LoanBookedV1,
    RepaymentPostedV1,
    RepaymentReversedV1,
    make_envelope,
)
from postloan_common.db import drop_database, sync_url
from postloan_common.messaging.admin import ensure_topics
from postloan_common.messaging.consumer import Barrier, BatchHook, Handler
from postloan_common.messaging.envelope import Envelope
from postloan_common.messaging.kafka import make_consumer, make_producer
from postloan_common.settings import ServiceSettings
from postloan_common.web import mint_token
from postloan_common.worker import WorkerTask, serve_worker
from postloan_dev.devstack import Tansu
from postloan_dev.testing import TEST_JWT_SECRET

PARTITIONS = 4
SESSION_TIMEOUT_MS = 6000
START = date(2026, 1, 5)
SETTLE_TIMEOUT_S = 90.0
# Tables that are delivery bookkeeping, not service state.
NOT_STATE = ("outbox", "inbox", "alembic_version")
CORE = "core-banking"


@dataclass
class WorkerSpec:
    """What a service's worker.py passes to run_worker."""

    settings: ServiceSettings
    tables: tuple[Table, Table]
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    batch_handlers: Mapping[str, BatchHook] = field(default_factory=dict)
    extra_tasks: Sequence[WorkerTask] = ()
    barrier: Barrier | None = None


def repayment_monitor_worker() -> WorkerSpec:
    from postloan_repayment_monitor.consumers import LoanEventHandlers
    from postloan_repayment_monitor.domain.rules import BucketScheme
    from postloan_repayment_monitor.settings import Settings
    from postloan_repayment_monitor.store.tables import inbox, outbox
    from postloan_repayment_monitor.worker import extra_tasks

    settings = Settings()
    buckets = BucketScheme()
    events = LoanEventHandlers(settings=settings, buckets=buckets)
    return WorkerSpec(
        settings=settings,
        tables=(outbox, inbox),
        handlers=events.handlers(),
        batch_handlers=events.batch_handlers(),
        extra_tasks=extra_tasks(settings=settings, buckets=buckets),
    )


def risk_alert_worker() -> WorkerSpec:
    from postloan_risk_alert.consumers import DAY_BARRIER, make_handlers
    from postloan_risk_alert.settings import Settings
    from postloan_risk_alert.store.tables import inbox, outbox

    settings = Settings()
    return WorkerSpec(
        settings=settings, tables=(outbox, inbox), batch_handlers=make_handlers(settings), barrier=DAY_BARRIER
    )


def crm_worker() -> WorkerSpec:
    from postloan_crm.consumers import build_batch_handlers, build_handlers
    from postloan_crm.settings import Settings
    from postloan_crm.store.tables import inbox, outbox

    settings = Settings()
    strategy = settings.strategy()
    # The reminder sender is left out: it talks to SMTP and SMS providers on the wall clock, which
    # no e2e scenario needs and which would change communications while checksums are compared.
    return WorkerSpec(
        settings=settings,
        tables=(outbox, inbox),
        handlers=build_handlers(strategy=strategy),
        batch_handlers=build_batch_handlers(strategy=strategy),
    )


def reporting_worker() -> WorkerSpec:
    from postloan_reporting.consumers import batch_handlers
    from postloan_reporting.settings import Settings
    from postloan_reporting.store.tables import inbox, outbox
    from postloan_reporting.worker import refresh_snapshots

    return WorkerSpec(
        settings=Settings(), tables=(outbox, inbox), batch_handlers=batch_handlers(), extra_tasks=[refresh_snapshots]
    )


def create_app(name: str) -> FastAPI:
    if name == "repayment-monitor":
        from postloan_repayment_monitor.main import create_app as rm_app

        return rm_app()
    if name == "risk-alert":
        from postloan_risk_alert.main import create_app as ra_app

        return ra_app()
    if name == "crm":
        from postloan_crm.main import create_app as crm_app

        return crm_app()
    from postloan_reporting.main import create_app as rpt_app

    return rpt_app()


WORKERS: dict[str, Callable[[], WorkerSpec]] = {
    "repayment-monitor": repayment_monitor_worker,
    "risk-alert": risk_alert_worker,
    "crm": crm_worker,
    "reporting": reporting_worker,
}


@dataclass
class Running:
    """One service of the platform: its database, API app and (while started) worker task."""

    spec: ServiceSpec
    database_url: str
    app: FastAPI
    transport: httpx.ASGITransport
    conn: asyncpg.Connection
    worker: asyncio.Task[int] | None = None
    stop: asyncio.Event | None = None


class NotSettled(AssertionError):
    """The platform did not come to rest in time."""


class Platform:
    """The running platform of one test."""

    def __init__(self, bootstrap: str, services: dict[str, Running]) -> None:
        self.bootstrap = bootstrap
        self.services = services
        self.published: Counter[str] = Counter()
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._clients: dict[tuple[str, str, str], httpx.AsyncClient] = {}

    # -- talking to it ---------------------------------------------------------------------------

    async def publish(self, topic: str, *envelopes: Envelope) -> None:
        """Produce events as the core banking system would (keyed by subject), acks from the broker."""
        if self._producer is None:
            self._producer = make_producer(self.bootstrap, client_id="e2e-core-banking")
            await self._producer.start()
        for envelope in envelopes:
            await self._producer.send_and_wait(topic, envelope.to_bytes(), key=envelope.subject.encode())
            self.published[topic] += 1

    def client(self, service: str, role: str = "admin", sub: str = "e2e") -> httpx.AsyncClient:
        """An API client of `service` with a token for `role`."""
        key = (service, role, sub)
        if key not in self._clients:
            token = mint_token(secret=TEST_JWT_SECRET, sub=sub, roles=[role])
            self._clients[key] = httpx.AsyncClient(
                transport=self.services[service].transport,
                base_url=f"http://{service}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )
        return self._clients[key]

    async def get(self, service: str, path: str, role: str = "admin", **params: Any) -> Any:
        """GET `path` of `service`; the JSON body of a 200."""
        response = await self.client(service, role).get(path, params=params or None)
        assert response.status_code == 200, f"GET {service}{path}: {response.status_code} {response.text}"
        return response.json()

    async def post(self, service: str, path: str, body: Any = None, role: str = "admin", expect: int = 200) -> Any:
        """POST `body` to `path` of `service`; the JSON body of the expected status."""
        response = await self.client(service, role).post(path, json=body)
        assert response.status_code == expect, f"POST {service}{path}: {response.status_code} {response.text}"
        return response.json()

    async def fetch(self, service: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        """Rows of a query on the service's own database."""
        return list(await self.services[service].conn.fetch(sql, *args))

    # -- core banking ----------------------------------------------------------------------------

    async def upsert_customer(self, customer_id: str, **extra: Any) -> None:
        """Core banking creates or changes a customer (customer-upserted)."""
        data = {
            "customer_id": customer_id,
            "name": "张三",
            "national_id": "110101199003071234",
            "phones": [{"number": "+8613800138000", "kind": "mobile"}],
            "emails": [f"{customer_id.lower()}@example.com"],
            "timezone": "Asia/Shanghai",
            "language": "zh-CN",
        } | extra
        await self.publish(
            CORE_BANKING_CUSTOMERS,
            make_envelope(data=CustomerUpsertedV1.model_validate(data), source=CORE, subject=customer_id),
        )

    async def book_loan(self, loan_id: str, customer_id: str, **extra: Any) -> None:
        """Core banking books a loan (loan-booked): by default 3,000.00 in three monthly installments."""
        data = {
            "loan_id": loan_id,
            "customer_id": customer_id,
            "product": "consumer-12m",
            "branch": "SH01",
            "currency": "CNY",
            "principal": "3000.00",
            "annual_rate": "0.1200",
            "disbursed_on": START.isoformat(),
            "installments": [
                {"seq": 1, "due_date": "2026-02-05", "principal": "1000.00", "interest": "30.00"},
                {"seq": 2, "due_date": "2026-03-05", "principal": "1000.00", "interest": "20.00"},
                {"seq": 3, "due_date": "2026-04-05", "principal": "1000.00", "interest": "10.00"},
            ],
        } | extra
        await self.publish(
            CORE_BANKING_LOANS, make_envelope(data=LoanBookedV1.model_validate(data), source=CORE, subject=loan_id)
        )

    async def post_repayment(self, loan_id: str, repayment_id: str, amount: str, value_date: date) -> None:
        """Core banking posts money received for a loan (repayment-posted)."""
        data = RepaymentPostedV1(
            loan_id=loan_id,
            repayment_id=repayment_id,
            amount=Decimal(amount),
            value_date=value_date,
            channel="bank-transfer",
        )
        await self.publish(CORE_BANKING_LOANS, make_envelope(data=data, source=CORE, subject=loan_id))

    async def reverse_repayment(self, loan_id: str, repayment_id: str, reversed_on: date) -> None:
        """Core banking reverses a repayment, e.g. a bounced debit (repayment-reversed)."""
        data = RepaymentReversedV1(
            loan_id=loan_id, repayment_id=repayment_id, reason="bounced", reversed_on=reversed_on
        )
        await self.publish(CORE_BANKING_LOANS, make_envelope(data=data, source=CORE, subject=loan_id))

    # -- waiting for it --------------------------------------------------------------------------

    async def settle(self, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
        """Wait until every outbox is drained and every consumer group has caught up on every topic."""
        deadline = time.monotonic() + timeout_s
        while True:
            self._check_workers()
            lag = await self.lag()
            if not lag:
                return
            if time.monotonic() > deadline:
                raise NotSettled(f"platform not settled after {timeout_s}s: {lag}")
            await asyncio.sleep(0.1)

    async def lag(self) -> dict[str, Any]:
        """What is still in flight: unpublished outbox rows and, per group and topic, records not committed."""
        # Offsets first: effects of a committed batch are in the database before its offset is.
        committed = {name: await self._committed(name) for name in self.services}
        produced: Counter[str] = Counter(self.published)
        behind: dict[str, Any] = {}
        for name, service in self.services.items():
            rows = await service.conn.fetch(
                "SELECT topic, count(*) FILTER (WHERE published_at IS NULL) AS pending,"
                " count(*) FILTER (WHERE published_at IS NOT NULL) AS published FROM outbox GROUP BY topic"
            )
            for row in rows:
                produced[row["topic"]] += row["published"]
                if row["pending"]:
                    behind[f"{name} outbox {row['topic']}"] = row["pending"]
        for name, topics in committed.items():
            for topic, offset in topics.items():
                if offset != produced[topic]:
                    behind[f"{name} on {topic}"] = f"{offset}/{produced[topic]}"
        return behind

    async def _committed(self, service: str) -> dict[str, int]:
        """Per consumed topic, the sum over partitions of the group's committed offsets."""
        if self._admin is None:
            self._admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
            await self._admin.start()
        topics = CONSUMES[service]
        # Tansu drops the connection on an OffsetFetch without explicit partitions.
        partitions = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]
        offsets = await self._admin.list_consumer_group_offsets(service, partitions=partitions)
        sums = dict.fromkeys(topics, 0)
        for tp, meta in offsets.items():
            sums[tp.topic] += max(meta.offset, 0)
        return sums

    async def wait_for(
        self, what: str, probe: Callable[[], Any], timeout_s: float = 30.0, interval_s: float = 0.2
    ) -> Any:
        """Poll `probe` (sync or async) until it returns something truthy; return that."""
        deadline = time.monotonic() + timeout_s
        while True:
            self._check_workers()
            value = probe()
            if asyncio.iscoroutine(value):
                value = await value
            if value:
                return value
            if time.monotonic() > deadline:
                raise NotSettled(f"timed out waiting for {what}")
            await asyncio.sleep(interval_s)

    def _check_workers(self) -> None:
        for name, service in self.services.items():
            if service.worker is not None and service.worker.done():
                raise AssertionError(f"the {name} worker stopped: exit code {service.worker.result()}")

    # -- the calendar ----------------------------------------------------------------------------

    async def business_date(self) -> date:
        """repayment-monitor's current business date."""
        return date.fromisoformat((await self.get("repayment-monitor", "/v1/calendar"))["business_date"])

    async def advance(self, to: date) -> None:
        """Close every day before `to` in repayment-monitor, then let every service catch up."""
        await self.post("repayment-monitor", "/v1/calendar/advance", {"to": to.isoformat()}, role="system")
        await self.settle()

    # -- workers ---------------------------------------------------------------------------------

    def start_workers(self) -> None:
        """Start every service's worker (relay, consumer, periodic jobs) as a task."""
        for name, service in self.services.items():
            assert service.worker is None, f"{name} worker already running"
            spec = WORKERS[name]()
            service.stop = asyncio.Event()
            service.worker = asyncio.create_task(
                serve_worker(
                    settings=spec.settings,
                    tables=spec.tables,
                    handlers=spec.handlers,
                    batch_handlers=spec.batch_handlers,
                    topics=CONSUMES[name],
                    extra_tasks=spec.extra_tasks,
                    metrics_port=0,
                    stop=service.stop,
                    barrier=spec.barrier,
                ),
                name=f"{name}-worker",
            )

    async def stop_workers(self) -> None:
        """Stop every worker and wait for it to leave its consumer group."""
        for service in self.services.values():
            if service.stop is not None:
                service.stop.set()
        for name, service in self.services.items():
            if service.worker is not None:
                code = await asyncio.wait_for(service.worker, 30)
                assert code == 0, f"the {name} worker exited with {code}"
            service.worker, service.stop = None, None

    async def rewind_consumer_groups(self) -> None:
        """Commit offset 0 on every partition each group consumes, keeping the group (and inbox) names.

        Tansu refuses commits from outside the group, so a member joins each group, takes every
        partition and commits the beginning; the workers must be stopped.
        """
        await asyncio.gather(*(self._rewind(name) for name in self.services))

    async def _rewind(self, group: str) -> None:
        topics = CONSUMES[group]
        wanted = {TopicPartition(t, p) for t in topics for p in range(PARTITIONS)}
        consumer = make_consumer(
            *topics, bootstrap_servers=self.bootstrap, group_id=group, session_timeout_ms=SESSION_TIMEOUT_MS
        )
        await consumer.start()
        try:
            deadline = time.monotonic() + 60
            while consumer.assignment() != wanted:
                if time.monotonic() > deadline:
                    raise NotSettled(f"{group}: rewinding member got {sorted(consumer.assignment())}")
                await consumer.getmany(timeout_ms=100, max_records=1)
            await consumer.commit(dict.fromkeys(wanted, 0))
        finally:
            await consumer.stop()

    # -- state -----------------------------------------------------------------------------------

    async def checksums(self) -> dict[str, str]:
        """md5 of every state table of every service (rows as text, ordered), keyed 'service.table'."""
        sums: dict[str, str] = {}
        for name, service in self.services.items():
            tables = await service.conn.fetch(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
            )
            for (table,) in tables:
                if table in NOT_STATE:
                    continue
                sums[f"{name}.{table}"] = await service.conn.fetchval(
                    f"SELECT md5(coalesce(string_agg(t::text, chr(10) ORDER BY t::text), '')) FROM \"{table}\" AS t"
                )
        return sums

    async def outbox_ids(self) -> dict[str, list[int]]:
        """Every service's outbox row ids."""
        return {
            name: [r["id"] for r in await service.conn.fetch("SELECT id FROM outbox ORDER BY id")]
            for name, service in self.services.items()
        }

    async def dead_letters(self) -> list[tuple[str, str, str]]:
        """(service, event type, reason) of every event a consumer dead-lettered."""
        found = []
        for name, service in self.services.items():
            rows = await service.conn.fetch(
                "SELECT event_type, headers->>'dlt-reason' AS reason FROM outbox WHERE topic LIKE '%.dlt' ORDER BY id"
            )
            found += [(name, r["event_type"], r["reason"]) for r in rows]
        return found

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        if self._producer is not None:
            await self._producer.stop()
        if self._admin is not None:
            await self._admin.close()


async def drop_databases(*, services_of: Callable[[], dict[str, Running]]) -> None:
    """Drop the service databases all at once: one by one, each drop waits for its own checkpoint."""
    urls = [service.database_url for service in services_of().values()]
    await asyncio.gather(*(drop_database(url, make_url(url).database or "") for url in urls))


@pytest.fixture
async def platform(
    migrated_database: Callable[[str], asyncio.Future[str]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> AsyncIterator[Platform]:
    """All four services on fresh databases and a fresh broker, workers running, calendar at START."""
    services: dict[str, Running] = {}
    broker = Tansu(log_path=tmp_path / "tansu.log").start()
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(broker.stop)
        stack.push_async_callback(drop_databases, services_of=lambda: services)
        await ensure_topics(broker.bootstrap, all_topics(), partitions=PARTITIONS)
        shared = {
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "KAFKA_SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
            "POSTLOAN_TOPIC_PARTITIONS": str(PARTITIONS),
            "POSTLOAN_ENV": "test",
            "POSTLOAN_LOG_LEVEL": os.environ.get("E2E_LOG_LEVEL", "WARNING"),
            "REPAYMENT_MONITOR_INITIAL_BUSINESS_DATE": START.isoformat(),
        }
        for key, value in shared.items():
            monkeypatch.setenv(key, value)
        for spec in SERVICES:
            url = await migrated_database(spec.package)
            monkeypatch.setenv(f"{spec.env_prefix}DATABASE_URL", url)
            monkeypatch.setenv(f"{spec.env_prefix}METRICS_PORT", "0")
            # Small pools: sixteen of them share the test database server.
            monkeypatch.setenv(f"{spec.env_prefix}DB_POOL_SIZE", "3")
            monkeypatch.setenv(f"{spec.env_prefix}OUTBOX_POLL_INTERVAL_S", "0.2")
            app = create_app(spec.name)
            await stack.enter_async_context(app.router.lifespan_context(app))
            conn = await asyncpg.connect(sync_url(url))
            stack.push_async_callback(conn.close)
            services[spec.name] = Running(
                spec=spec,
                database_url=url,
                app=app,
                transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                conn=conn,
            )
        platform = Platform(broker.bootstrap, services)
        stack.push_async_callback(platform.close)
        stack.push_async_callback(platform.stop_workers)
        platform.start_workers()
        yield platform
        assert await platform.dead_letters() == [], "no event may be dead-lettered in an e2e scenario"
