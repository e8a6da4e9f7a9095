"""Fixtures for repayment-monitor integration tests: a migrated database and an API client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from postloan_dev.devstack import DevStack
from postloan_dev.testing import app_client, bearer_headers

PREFIX = "REPAYMENT_MONITOR_"


@pytest.fixture
def token() -> Callable[..., dict[str, str]]:
    """Authorization headers for a role."""

    return bearer_headers("system")


@pytest.fixture
def rm_api(migrated_database, devstack: DevStack, monkeypatch: pytest.MonkeyPatch):
    """Start the API on a fresh migrated database: `async with rm_api(start=date) as (client, url)`."""

    @asynccontextmanager
    async def start(initial_business_date: str = "2026-01-05") -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
        from postloan_repayment_monitor.main import create_app

        url = await migrated_database("postloan_repayment_monitor")
        monkeypatch.setenv(PREFIX + "DATABASE_URL", url)
        monkeypatch.setenv(PREFIX + "INITIAL_BUSINESS_DATE", initial_business_date)
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", devstack.kafka_bootstrap)
        monkeypatch.setenv("POSTLOAN_ENV", "test")
        app = create_app()
        async with app_client(app) as client:
            yield client, url

    return start
