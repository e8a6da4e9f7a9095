"""Oversize bodies are refused before a handler reads them; connections carry a statement timeout."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import text

from postloan_common.db import create_engine
from postloan_common.web.limits import BodyLimitMiddleware
from postloan_common.web.problems import install_problem_handlers

MIB = 1024 * 1024


def _app(calls: list[int]) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/v1/things")
    async def things(request: Request) -> dict[str, int]:
        calls.append(1)
        return {"size": len(await request.body())}

    @app.post("/v1/loans/bulk")
    async def bulk(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    app.add_middleware(BodyLimitMiddleware, max_bytes=MIB, prefix_caps={"/v1/loans/bulk": 4 * MIB})
    return app


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_declared_oversize_json_is_refused_without_running_the_handler():
    calls: list[int] = []
    body = json.dumps({"blob": "x" * (2 * MIB)}).encode()
    async with _client(_app(calls)) as client:
        response = await client.post("/v1/things", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 413
    assert calls == []


async def test_chunked_oversize_body_is_refused():
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * (128 * 1024)

    async with _client(_app([])) as client:
        response = await client.post("/v1/things", content=chunks())
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_small_bodies_and_the_larger_prefix_cap_pass():
    async with _client(_app([])) as client:
        small = await client.post("/v1/things", content=b"x" * 1000)
        bulk = await client.post("/v1/loans/bulk", content=b"x" * (2 * MIB))
        over_bulk = await client.post("/v1/loans/bulk", content=b"x" * (5 * MIB))
    assert small.json() == {"size": 1000}
    assert bulk.json() == {"size": 2 * MIB}
    assert over_bulk.status_code == 413


@pytest.mark.integration
async def test_connections_carry_the_statement_timeout(database_url):
    engine = create_engine(database_url, statement_timeout_ms=12_000)
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("SHOW statement_timeout"))).scalar_one() == "12s"
    finally:
        await engine.dispose()
