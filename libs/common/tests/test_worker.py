"""The worker runner: tasks start, metrics are served, stop is prompt, a crash exits 1."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postloan_common.db import engine_scope, new_metadata
from postloan_common.messaging.tables import NOTIFY_TRIGGER_DDL, add_messaging_tables
from postloan_common.settings import ServiceSettings
from postloan_common.worker import resolve_metrics_port, serve_worker
from postloan_dev.devstack import DevStack, free_port

pytestmark = pytest.mark.integration


@pytest.fixture
async def messaging_db(database_url: str, devstack: DevStack, monkeypatch: pytest.MonkeyPatch):
    """A database with outbox and inbox, and settings pointing at it and the devstack broker."""
    metadata = new_metadata()
    tables = add_messaging_tables(metadata)
    async with engine_scope(database_url) as engine, engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        for statement in NOTIFY_TRIGGER_DDL:
            await conn.execute(text(statement))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", devstack.kafka_bootstrap)
    settings = ServiceSettings(service_name="worker-test", database_url=database_url, outbox_poll_interval_s=0.2)
    return settings, tables


async def test_worker_runs_tasks_serves_metrics_and_stops_promptly(messaging_db) -> None:
    settings, tables = messaging_db
    stop = asyncio.Event()
    started = asyncio.Event()

    async def job(sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event) -> None:
        async with sessions() as session:
            assert await session.scalar(text("SELECT count(*) FROM outbox")) == 0
        started.set()
        await stop.wait()

    port = free_port()
    worker = asyncio.create_task(
        serve_worker(
            settings=settings,
            tables=tables,
            handlers={},
            topics=(),
            extra_tasks=[job],
            metrics_port=port,
            stop=stop,
        )
    )
    await asyncio.wait_for(started.wait(), 30)
    async with httpx.AsyncClient() as client:
        metrics = await client.get(f"http://127.0.0.1:{port}/metrics")
    assert metrics.status_code == 200
    assert "outbox_pending" in metrics.text

    began = time.monotonic()
    stop.set()
    assert await asyncio.wait_for(worker, 10) == 0
    assert time.monotonic() - began < 5
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "metrics endpoint still listening"


async def test_a_crashing_task_stops_the_worker_with_exit_code_1(messaging_db) -> None:
    settings, tables = messaging_db
    other_stopped = asyncio.Event()

    async def crash(_sessions: object, _stop: asyncio.Event) -> None:
        raise RuntimeError("boom")

    async def bystander(_sessions: object, stop: asyncio.Event) -> None:
        await stop.wait()
        other_stopped.set()

    code = await asyncio.wait_for(
        serve_worker(settings=settings, tables=tables, handlers={}, topics=(), extra_tasks=[bystander, crash]),
        15,
    )

    assert code == 1
    assert other_stopped.is_set()


def test_metrics_port_defaults_to_api_port_plus_1000() -> None:
    class WithPort(ServiceSettings):
        port: int = 8003

    assert resolve_metrics_port(settings=WithPort(), metrics_port=None) == 9003
    assert resolve_metrics_port(settings=WithPort(), metrics_port=0) == 0
    assert resolve_metrics_port(settings=ServiceSettings(), metrics_port=None) == 0
