"""Across every service: each route names the roles that may call it, so a token without roles gets 403."""

from __future__ import annotations

import importlib
import re

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from postloan_common.catalog import SERVICES
from postloan_common.devstack import DevStack
from postloan_common.testing import TEST_JWT_SECRET
from postloan_common.web import mint_token

pytestmark = pytest.mark.integration

PUBLIC = {"/health/live", "/health/ready", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x-1", path)


def _names_roles(dependant: Dependant) -> bool:
    """Whether a `require_roles(...)` dependency sits anywhere in the route's dependency tree."""
    for sub in dependant.dependencies:
        if "require_roles" in getattr(sub.call, "__qualname__", "") or _names_roles(sub):
            return True
    return False


@pytest.mark.parametrize("spec", SERVICES, ids=[s.name for s in SERVICES])
async def test_every_route_requires_a_role(spec, migrated_database, devstack: DevStack, monkeypatch):
    url = await migrated_database(spec.package)
    monkeypatch.setenv(spec.env_prefix + "DATABASE_URL", url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", devstack.kafka_bootstrap)
    monkeypatch.setenv("POSTLOAN_JWT_SECRET", TEST_JWT_SECRET)
    monkeypatch.setenv("POSTLOAN_ENV", "test")
    app = importlib.import_module(f"{spec.package}.main").create_app()
    roleless = {"Authorization": f"Bearer {mint_token(secret=TEST_JWT_SECRET, sub='nobody', roles=[])}"}
    routes = [r for r in app.routes if isinstance(r, APIRoute) and r.path not in PUBLIC]
    unguarded = [f"{sorted(r.methods)} {r.path}" for r in routes if not _names_roles(r.dependant)]
    assert not unguarded, f"routes without a role dependency: {unguarded}"
    wrong: list[str] = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for route in routes:
                for method in sorted(route.methods):
                    target = _fill(route.path)
                    anonymous = await client.request(method, target)
                    denied = await client.request(method, target, headers=roleless)
                    if anonymous.status_code != 401:
                        wrong.append(f"{method} {route.path} without a token: {anonymous.status_code}")
                    if denied.status_code != 403 or not denied.headers["content-type"].startswith(
                        "application/problem+json"
                    ):
                        wrong.append(f"{method} {route.path} with no roles: {denied.status_code}")
    assert not wrong, wrong
