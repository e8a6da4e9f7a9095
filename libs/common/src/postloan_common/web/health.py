"""Liveness and readiness probes; readiness checks the database and, where asked (not APIs), the broker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Literal

from aiokafka.client import AIOKafkaClient
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from postloan_common.db import ping
from postloan_common.logging import get_logger
from postloan_common.messaging.kafka import security_kwargs
from postloan_common.web.problems import PROBLEM_JSON, ProblemResponse, problem_body, request_id_of

CHECK_TIMEOUT_S = 2.0
BROKER_CACHE_S = 5.0

router = APIRouter(prefix="/health", tags=["operations"])


class Live(BaseModel):
    """The process is serving requests."""

    status: Literal["ok"]


class Ready(BaseModel):
    """Every dependency answered; `checks` names each one with `ok`."""

    status: Literal["ready"]
    checks: dict[str, str]


@router.get("/live", operation_id="getLiveness", response_model=Live)
async def live() -> dict[str, str]:
    """Answer while the process is serving requests."""
    return {"status": "ok"}


@router.get(
    "/ready",
    operation_id="getReadiness",
    response_model=None,
    responses={
        200: {"model": Ready, "description": "Every dependency answers"},
        503: {
            "description": "A dependency does not answer",
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
        },
    },
)
async def ready(request: Request) -> JSONResponse:
    """Answer 200 when every dependency answers, else 503 naming the failed checks."""
    app: FastAPI = request.app
    probes: dict[str, Callable[[], Awaitable[None]]] = {"database": lambda: ping_database(app.state.engine)}
    if app.state.check_broker:
        probes["broker"] = lambda: ping_broker_cached(app)
    results = await asyncio.gather(*(_run(name, probe) for name, probe in probes.items()))
    checks = dict(zip(probes, results, strict=True))
    failed = [name for name, result in checks.items() if result != "ok"]
    if not failed:
        return JSONResponse({"status": "ready", "checks": checks})
    body = problem_body(
        status=503,
        title="Not ready",
        detail=f"Failed readiness checks: {', '.join(failed)}",
        instance=request.url.path,
        request_id=request_id_of(request.scope),
        extra={"checks": checks, "failed": failed},
    )
    return ProblemResponse(body, status_code=503)


async def ping_database(engine: AsyncEngine) -> None:
    """Raise unless the database answers within the check timeout."""
    async with asyncio.timeout(CHECK_TIMEOUT_S):
        await ping(engine)


async def ping_broker(bootstrap_servers: str) -> None:
    """Raise unless the broker accepts a bootstrap connection within the check timeout."""
    timeout_ms = int(CHECK_TIMEOUT_S * 1000)
    client = AIOKafkaClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=timeout_ms, **security_kwargs())
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await client.bootstrap()
    finally:
        await client.close()


async def ping_broker_cached(app: FastAPI) -> None:
    """Ping the broker unless it answered in the last few seconds, so probes don't hammer it."""
    if time.monotonic() < app.state.broker_ok_until:
        return
    await ping_broker(app.state.settings.kafka_bootstrap_servers)
    app.state.broker_ok_until = time.monotonic() + BROKER_CACHE_S


async def _run(name: str, probe: Callable[[], Awaitable[None]]) -> str:
    try:
        await probe()
    except Exception as exc:
        get_logger("postloan.health").warning("readiness_check_failed", check=name, error=repr(exc))
        return f"failed: {type(exc).__name__}"
    return "ok"
