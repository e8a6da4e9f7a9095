"""Fixtures for risk-alert integration tests: a migrated database, an API client, tokens."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from postloan_dev.devstack import DevStack
from postloan_dev.testing import app_client, bearer_headers

PREFIX = "RISK_ALERT_"
# ra_testkit (database and broker helpers) lives beside this file.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def token() -> Callable[..., dict[str, str]]:
    """Authorization headers for a role."""

    return bearer_headers("risk_officer")


@pytest.fixture
def ra_api(migrated_database, devstack: DevStack, monkeypatch: pytest.MonkeyPatch):
    """Start the API on a fresh migrated database: `async with ra_api() as (client, url)`."""

    @asynccontextmanager
    async def start(url: str | None = None) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
        from postloan_risk_alert.main import create_app

        url = url or await migrated_database("postloan_risk_alert")
        monkeypatch.setenv(PREFIX + "DATABASE_URL", url)
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", devstack.kafka_bootstrap)
        monkeypatch.setenv("POSTLOAN_ENV", "test")
        app = create_app()
        async with app_client(app) as client:
            yield client, url

    return start
