"""Fixtures for crm tests: a migrated database, the real consumer fed with records, an API client."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postloan_common.contracts import EventData, make_envelope, parse_data
from postloan_common.db import create_engine, session_factory
from postloan_common.messaging.consumer import Consumer, ConsumerConfig
from postloan_common.messaging.envelope import Envelope
from postloan_crm.consumers import build_batch_handlers, build_handlers
from postloan_crm.domain.strategy import StrategyTable
from postloan_crm.store.tables import inbox, outbox
from postloan_dev.devstack import DevStack
from postloan_dev.testing import app_client, bearer_headers, consumer_records

PREFIX = "CRM_"
# crm_testkit (event factories) lives beside this file.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def token() -> Callable[..., dict[str, str]]:
    """Authorization headers for a role."""

    return bearer_headers("supervisor")


class Clock:
    """A settable clock for the consumer's `now`."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def envelope(data: EventData, *, subject: str, business_date: date | None = None) -> Envelope:
    source = "core-banking" if data.event_type == "customer-upserted" else "repayment-monitor"
    return make_envelope(data=data, source=source, subject=subject, business_date=business_date)


@dataclass
class Crm:
    """A migrated crm database with the real consumer in front of it."""

    url: str
    sessions: async_sessionmaker[AsyncSession]
    consumer: Consumer
    clock: Clock
    offset: int = 0

    async def feed(self, *events: Envelope, topic: str = "repayment.loans") -> None:
        """Apply `events` as one polled batch."""
        batch = consumer_records(topic, list(events), self.offset)
        self.offset += len(batch)
        await self.consumer.apply_batch(batch)

    async def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        async with self.sessions() as session:
            return [dict(r) for r in (await session.execute(text(sql), params)).mappings()]

    async def events(self, type_: str | None = None) -> list[Envelope]:
        """crm.activities events in the outbox, each checked against its contract."""
        rows = await self.rows("SELECT payload FROM outbox WHERE topic = 'crm.activities' ORDER BY id")
        found = [Envelope.from_bytes(bytes(r["payload"])) for r in rows]
        for event in found:
            parse_data(event)
        return [e for e in found if type_ is None or e.type == type_]


@pytest.fixture
async def crm(migrated_database) -> AsyncIterator[Crm]:
    """A fresh migrated crm database and a consumer whose clock starts at 10:00 Shanghai on 2026-03-02."""
    url = await migrated_database("postloan_crm")
    engine = create_engine(url)
    sessions = session_factory(engine)
    clock = Clock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    consumer = Consumer(
        ConsumerConfig(name="crm", topics=["repayment.loans"], bootstrap_servers="unused:1"),
        sessions=sessions,
        inbox=inbox,
        outbox=outbox,
        handlers=build_handlers(strategy=StrategyTable(), clock=clock),
        batch_handlers=build_batch_handlers(strategy=StrategyTable(), clock=clock),
    )
    try:
        yield Crm(url, sessions, consumer, clock)
    finally:
        await engine.dispose()


@pytest.fixture
def crm_api(devstack: DevStack, monkeypatch: pytest.MonkeyPatch):
    """Start the API on a given database: `async with crm_api(url, now=...) as client`."""

    @asynccontextmanager
    async def start(url: str, now: datetime | None = None) -> AsyncIterator[httpx.AsyncClient]:
        from postloan_crm.api.deps import get_now
        from postloan_crm.main import create_app

        monkeypatch.setenv(PREFIX + "DATABASE_URL", url)
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", devstack.kafka_bootstrap)
        monkeypatch.setenv("POSTLOAN_ENV", "test")
        app = create_app()
        if now is not None:
            app.dependency_overrides[get_now] = lambda: now
        async with app_client(app) as client:
            yield client

    return start
