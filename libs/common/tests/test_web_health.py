"""Liveness and readiness against a real and an unreachable PostgreSQL."""

from __future__ import annotations

import httpx

from postloan_common.settings import ServiceSettings
from postloan_common.web import create_app

LOCAL_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
CLOSED_PORT = "postgresql+asyncpg://postgres@127.0.0.1:1/x"


async def get(database_url: str, path: str, *, check_broker: bool = False, broker: str = "127.0.0.1:1"):
    settings = ServiceSettings(service_name="test-health", database_url=database_url, KAFKA_BOOTSTRAP_SERVERS=broker)
    app = create_app(settings=settings, title="t", check_broker=check_broker)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        return await client.get(path)


async def test_live_is_200_even_without_database():
    response = await get(CLOSED_PORT, "/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_is_503_naming_the_database_when_it_is_down():
    response = await get(CLOSED_PORT, "/health/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["failed"] == ["database"]
    assert body["checks"]["database"].startswith("failed")
    assert "database" in body["detail"]


async def test_ready_is_200_with_real_database():
    response = await get(LOCAL_POSTGRES, "/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}}


async def test_ready_is_503_naming_the_broker_when_it_is_down():
    response = await get(LOCAL_POSTGRES, "/health/ready", check_broker=True, broker="127.0.0.1:1")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["broker"]
    assert body["checks"]["database"] == "ok"
