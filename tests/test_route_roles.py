"""Across every service: each route names the roles that may call it, so a token without roles gets 403."""

from __future__ import annotations

import importlib
import re

import httpx
import pytest

from postloan_common.catalog import SERVICES
from postloan_common.web import mint_token
from postloan_dev.devstack import DevStack
from postloan_dev.testing import TEST_JWT_SECRET

pytestmark = pytest.mark.integration

PUBLIC = {"/health/live", "/health/ready", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x-1", path)


@pytest.mark.parametrize("spec", SERVICES, ids=[s.name for s in SERVICES])
async def test_every_route_requires_a_role(spec, migrated_database, devstack: DevStack, monkeypatch):
    url = await migrated_database(spec.package)
    monkeypatch.setenv(spec.env_prefix + "DATABASE_URL", url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", devstack.kafka_bootstrap)
    monkeypatch.setenv("POSTLOAN_ENV", "test")
    app = importlib.import_module(f"{spec.package}.main").create_app()
    roleless = {"Authorization": f"Bearer {mint_token(secret=TEST_JWT_SECRET, sub='nobody', roles=[])}"}
    wrong: list[str] = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            # Included routers are resolved lazily, so the OpenAPI document is the complete route list;
            # a route without a require_roles dependency answers a roleless token with 200, 404 or 422.
            routes = [(path, ops) for path, ops in app.openapi()["paths"].items() if path not in PUBLIC]
            assert routes
            for path, operations in routes:
                for method in (m.upper() for m in operations):
                    target = _fill(path)
                    anonymous = await client.request(method, target)
                    denied = await client.request(method, target, headers=roleless)
                    if anonymous.status_code != 401:
                        wrong.append(f"{method} {path} without a token: {anonymous.status_code}")
                    if denied.status_code != 403 or not denied.headers["content-type"].startswith(
                        "application/problem+json"
                    ):
                        wrong.append(f"{method} {path} with no roles: {denied.status_code}")
    assert not wrong, "\n".join(wrong)
