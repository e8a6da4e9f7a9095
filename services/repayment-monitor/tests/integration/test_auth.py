"""Authentication and roles on every endpoint, found from the app's own routes so new ones are covered."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import text

from postloan_common.db import engine_scope
from postloan_common.web import mint_token
from postloan_dev.testing import TEST_JWT_SECRET, other_private_key

pytestmark = pytest.mark.integration

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# Roles that may read but change nothing.
READ_ONLY_ROLES = ("collector", "analyst")
# The reads collectors and analysts work from.
WORK_READS = {
    ("GET", "/v1/loans"),
    ("GET", "/v1/loans/X-1"),
    ("GET", "/v1/loans/X-1/schedule"),
    ("GET", "/v1/loans/X-1/events"),
    ("GET", "/v1/loans/X-1/dpd-history"),
    ("GET", "/v1/calendar"),
    ("GET", "/v1/products"),
    ("GET", "/v1/products/X-1"),
}


def endpoints(prefix: str = "/v1") -> list[tuple[str, str]]:
    """(method, concrete path) of every API route under `prefix`, path parameters filled in."""
    from postloan_repayment_monitor.main import create_app

    found = []
    # Included routers are not copied into app.routes; iter_route_contexts walks them with their prefixes.
    for route in iter_route_contexts(create_app().routes):
        if route.path and route.path.startswith(prefix + "/") and route.methods:
            path = re.sub(r"\{[^}]+\}", "X-1", route.path)
            found += [(method, path) for method in sorted(route.methods)]
    return found


async def counts(url: str) -> dict[str, int]:
    tables = ("loans", "repayments", "products", "outbox", "audit_log", "closed_days")
    async with engine_scope(url) as engine, engine.connect() as conn:
        return {t: (await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one() for t in tables}


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


async def test_the_route_list_covers_the_contract(rm_api):
    async with rm_api() as (client, _url):
        found = set(endpoints())
        for expected in [
            ("POST", "/v1/loans"),
            ("GET", "/v1/loans"),
            ("GET", "/v1/loans/X-1"),
            ("GET", "/v1/loans/X-1/schedule"),
            ("POST", "/v1/loans/X-1/repayments"),
            ("POST", "/v1/repayments/X-1/reversal"),
            ("GET", "/v1/calendar"),
            ("POST", "/v1/calendar/close-day"),
            ("POST", "/v1/calendar/advance"),
            ("GET", "/v1/products"),
            ("GET", "/v1/products/X-1"),
            ("PUT", "/v1/products/X-1"),
        ]:
            assert expected in found
        assert found >= WORK_READS
        # Every /v1 path of the OpenAPI document is a route found here too.
        spec = (await client.get("/openapi.json")).json()
        documented = {(m.upper(), re.sub(r"\{[^}]+\}", "X-1", p)) for p, ops in spec["paths"].items() for m in ops}
        assert {e for e in documented if e[1].startswith("/v1/")} <= found


async def test_every_endpoint_needs_a_valid_token(rm_api):
    expired = mint_token(secret=TEST_JWT_SECRET, sub="old", roles=["admin"], ttl=timedelta(seconds=-60))
    forged = mint_token(secret=other_private_key(), sub="eve", roles=["admin"])
    wrong_audience = mint_token(secret=TEST_JWT_SECRET, sub="eve", roles=["admin"], audience="elsewhere")
    async with rm_api() as (client, url):
        before = await counts(url)
        for method, path in endpoints():
            for headers in (
                {},
                bearer("not-a-jwt"),
                bearer(expired),
                bearer(forged),
                bearer(wrong_audience),
                {"Authorization": "Basic YWRtaW46YWRtaW4="},
            ):
                body = {} if method in WRITES else None
                response = await client.request(method, path, json=body, headers=headers)
                assert response.status_code == 401, (method, path, headers, response.text)
                assert response.headers["content-type"].startswith("application/problem+json")
                assert response.headers["www-authenticate"] == "Bearer"
                assert response.json()["detail"]
        assert await counts(url) == before


@pytest.mark.parametrize("role", READ_ONLY_ROLES)
async def test_read_only_roles_may_read_but_not_write(rm_api, token, role):
    async with rm_api() as (client, url):
        before = await counts(url)
        writes = [(m, p) for m, p in endpoints() if m in WRITES]
        assert writes
        for method, path in writes:
            response = await client.request(method, path, json={}, headers=token(role))
            assert response.status_code == 403, (method, path, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert "roles" in response.json()["detail"]
        for method, path in endpoints():
            if method not in WRITES:
                response = await client.request(method, path, headers=token(role))
                # X-1 may well not exist (404); a read may be kept for operators (403), never a 401 or 5xx.
                assert response.status_code != 401 and response.status_code < 500, (path, response.text)
                if (method, path) in WORK_READS:
                    assert response.status_code in (200, 404), (path, response.text)
        assert await counts(url) == before


async def test_health_metrics_and_openapi_need_no_token(rm_api):
    async with rm_api() as (client, _url):
        for path in ("/health/live", "/health/ready", "/metrics", "/openapi.json"):
            response = await client.get(path)
            assert response.status_code == 200, (path, response.text)
        assert "http_requests_total" in (await client.get("/metrics")).text
