"""A customer's name and phone never reach logs, response headers or problem bodies on failure paths."""

from __future__ import annotations

import importlib
import json

import httpx
import pytest
from fastapi import Request
from sqlalchemy import text

from postloan_common.catalog import SERVICES
from postloan_common.web import mint_token
from postloan_dev.devstack import DevStack
from postloan_dev.testing import TEST_JWT_SECRET

pytestmark = pytest.mark.integration

PHONE = "13800138000"
NAME = "张三丰测试"
CRM = next(spec for spec in SERVICES if spec.name == "crm")


async def _fail_in_the_database(request: Request) -> None:
    """A statement whose bound value PostgreSQL rejects, so the driver error carries the parameters."""
    async with request.app.state.sessions() as session:
        await session.execute(
            text("SELECT CAST(:name AS integer), CAST(:phone AS integer)"), {"name": NAME, "phone": PHONE}
        )


def _leaks(text_: str) -> list[str]:
    # JSON log lines escape the name to \uXXXX, so look for that spelling as well.
    secrets = (PHONE, NAME, json.dumps(NAME)[1:-1])
    return [secret for secret in secrets if secret in text_]


async def test_failure_paths_do_not_echo_personal_data(migrated_database, devstack: DevStack, monkeypatch, capsys):
    url = await migrated_database(CRM.package)
    monkeypatch.setenv(CRM.env_prefix + "DATABASE_URL", url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", devstack.kafka_bootstrap)
    monkeypatch.setenv("POSTLOAN_ENV", "test")
    monkeypatch.setenv("POSTLOAN_LOG_LEVEL", "DEBUG")
    app = importlib.import_module(f"{CRM.package}.main").create_app()
    app.add_api_route("/v1/_test/db-error", _fail_in_the_database, methods=["POST"])
    admin = {"Authorization": f"Bearer {mint_token(secret=TEST_JWT_SECRET, sub='pii-test', roles=['admin'])}"}
    customer = {"customer_id": "C-PII-1", "name": NAME, "national_id": "x", "phones": [{"number": PHONE}]}
    bad_field = {**customer, "birth_date": f"{NAME}{PHONE}", "phones": [{"number": PHONE, "kind": NAME}]}
    unknown = {**customer, "nickname": NAME}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            responses = [
                await client.post("/v1/customers", json=bad_field, headers=admin),
                await client.post("/v1/customers", json=unknown, headers=admin),
                await client.post("/v1/no-such-route", json=customer, headers=admin),
                await client.post("/v1/_test/db-error", json=customer, headers=admin),
            ]
    assert [r.status_code for r in responses] == [422, 422, 404, 500]
    for response in responses:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert not _leaks(response.text), response.text
        assert not _leaks(" ".join(f"{k}: {v}" for k, v in response.headers.items()))
    captured = capsys.readouterr()
    logged = captured.err + captured.out
    assert "unhandled_exception" in logged
    assert not _leaks(logged), [line for line in logged.splitlines() if _leaks(line)]
