"""Fixtures for reporting tests: a migrated store, an event feeder, and the API on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date

import httpx
import pytest

from postloan_common.contracts import make_envelope
from postloan_common.messaging.envelope import Envelope
from postloan_dev.devstack import DevStack
from postloan_dev.testing import app_client, bearer_headers

PREFIX = "REPORTING_"


def event(data, *, day: str, source: str = "repayment-monitor") -> Envelope:
    """An envelope of `data` for business date `day`."""
    subject = getattr(data, "loan_id", None) or getattr(data, "customer_id", None) or "p0"
    return make_envelope(data=data, source=source, subject=subject, business_date=date.fromisoformat(day))


@pytest.fixture
def token() -> Callable[..., dict[str, str]]:
    """Authorization headers for a role."""

    return bearer_headers("analyst")


@pytest.fixture
def reporting_api(devstack: DevStack, monkeypatch: pytest.MonkeyPatch):
    """Start the API on a database: `async with reporting_api(url) as client`."""

    @asynccontextmanager
    async def start(url: str) -> AsyncIterator[httpx.AsyncClient]:
        from postloan_reporting.main import create_app

        monkeypatch.setenv(PREFIX + "DATABASE_URL", url)
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", devstack.kafka_bootstrap)
        monkeypatch.setenv("POSTLOAN_ENV", "test")
        app = create_app()
        async with app_client(app) as client:
            yield client

    return start
