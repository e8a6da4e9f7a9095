"""Across every service: malformed JSON and a missing token never reach a handler, and never 5xx."""

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
async def test_malformed_bodies_and_missing_tokens(spec, migrated_database, devstack: DevStack, monkeypatch):
    url = await migrated_database(spec.package)
    monkeypatch.setenv(spec.env_prefix + "DATABASE_URL", url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", devstack.kafka_bootstrap)
    monkeypatch.setenv("POSTLOAN_ENV", "test")
    app = importlib.import_module(f"{spec.package}.main").create_app()
    admin = {"Authorization": f"Bearer {mint_token(secret=TEST_JWT_SECRET, sub='fuzz', roles=['admin'])}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            paths = app.openapi()["paths"]
            checked = 0
            for path, operations in paths.items():
                for method, operation in operations.items():
                    target = _fill(path)
                    if path not in PUBLIC:
                        anonymous = await client.request(method.upper(), target)
                        assert anonymous.status_code == 401, f"{method.upper()} {path} without a token"
                        assert anonymous.headers["content-type"].startswith("application/problem+json")
                    if "requestBody" not in operation:
                        continue
                    content = operation["requestBody"].get("content", {})
                    if "application/json" not in content:
                        continue
                    response = await client.request(
                        method.upper(),
                        target,
                        content=b'{"not": json',
                        headers={**admin, "Content-Type": "application/json"},
                    )
                    assert response.status_code in (400, 404, 422), f"{method.upper()} {path}: {response.status_code}"
                    assert response.headers["content-type"].startswith("application/problem+json")
                    checked += 1
            assert checked >= (1 if spec.name == "repayment-monitor" else 0)
