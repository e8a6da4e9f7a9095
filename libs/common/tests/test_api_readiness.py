"""An API stays ready through a broker outage: its writes go to the outbox, only the database matters."""

from __future__ import annotations

import importlib

import httpx
import pytest

from postloan_common.catalog import SERVICES
from postloan_common.migrations import service_dir, upgrade

pytestmark = pytest.mark.integration


async def test_api_ready_with_broker_unreachable(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = next(s for s in SERVICES if s.name == "crm")
    upgrade(service_dir(spec.package), database_url)
    monkeypatch.setenv(spec.env_prefix + "DATABASE_URL", database_url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    app = importlib.import_module(f"{spec.package}.main").create_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            ready = await client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["checks"]) == {"database"}
