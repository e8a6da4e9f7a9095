"""The FastAPI application factory every service API is built with."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from postloan_common.db import create_engine, session_factory
from postloan_common.logging import bound_contextvars, configure_logging, get_logger
from postloan_common.settings import ServiceSettings
from postloan_common.web import health, metrics
from postloan_common.web.auth import TokenVerifier
from postloan_common.web.limits import BodyLimitMiddleware
from postloan_common.web.metrics import MetricsMiddleware, route_template
from postloan_common.web.openapi import camel_operation_id, install_openapi
from postloan_common.web.problems import (
    CORRELATION_ID_KEY,
    PROBLEM_RESPONSES,
    REQUEST_ID_KEY,
    ProblemResponse,
    install_problem_handlers,
    problem_body,
)

REQUEST_ID_HEADER = "X-Request-ID"
CORRELATION_ID_HEADER = "X-Correlation-ID"
# Incoming ids end up in logs and headers, so anything outside this shape is replaced.
_ID_SHAPE = re.compile(r"[A-Za-z0-9._:\-]{1,128}")

AppHook = Callable[[FastAPI], Awaitable[None]]


def create_app(
    *,
    settings: ServiceSettings,
    title: str,
    version: str = "0.1.0",
    routers: Sequence[APIRouter] = (),
    on_startup: AppHook | None = None,
    on_shutdown: AppHook | None = None,
    check_broker: bool = False,  # API writes go to the outbox: a broker outage must not unready it
) -> FastAPI:
    """Build a service API with problem errors, ids, access log, metrics, health and CORS."""
    app = FastAPI(
        title=title,
        version=version,
        lifespan=_lifespan(settings=settings, on_startup=on_startup, on_shutdown=on_shutdown),
        responses=PROBLEM_RESPONSES,
        generate_unique_id_function=camel_operation_id,
    )
    install_openapi(app)
    app.state.settings = settings
    app.state.check_broker = check_broker
    app.state.broker_ok_until = 0.0
    # Middleware added first runs innermost: the last-resort 500 handler must sit inside the
    # middlewares below so they see (and count, and log) the 500 it produces.
    install_problem_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type", REQUEST_ID_HEADER, CORRELATION_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER, CORRELATION_ID_HEADER],
        )
    app.add_middleware(MetricsMiddleware, service=settings.service_name)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, prefix_caps=settings.body_caps)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health.router)
    app.include_router(metrics.router)
    for router in routers:
        app.include_router(router)
    return app


def _lifespan(
    *, settings: ServiceSettings, on_startup: AppHook | None, on_shutdown: AppHook | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(service=settings.service_name, level=settings.log_level, json=settings.log_json)
        # Fails the start-up, not the first request, when no public key is configured.
        app.state.token_verifier = TokenVerifier.from_settings(settings)
        engine = create_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            echo=settings.db_echo,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        try:
            if on_startup is not None:
                await on_startup(app)
            try:
                yield
            finally:
                if on_shutdown is not None:
                    await on_shutdown(app)
        finally:
            await engine.dispose()

    return lifespan


class RequestContextMiddleware:
    """Assign request and correlation ids, bind them to the log context, log one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request with ids bound, echo them, and write the access log line."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = _valid_id(headers.get(REQUEST_ID_HEADER)) or uuid.uuid4().hex
        correlation_id = _valid_id(headers.get(CORRELATION_ID_HEADER)) or request_id
        state = scope.setdefault("state", {})
        state[REQUEST_ID_KEY] = request_id
        state[CORRELATION_ID_KEY] = correlation_id
        status = 500
        started = time.perf_counter()

        async def echoing_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = MutableHeaders(scope=message)
                response_headers[REQUEST_ID_HEADER] = request_id
                response_headers[CORRELATION_ID_HEADER] = correlation_id
            await send(message)

        with bound_contextvars(request_id=request_id, correlation_id=correlation_id):
            try:
                if _carries_nul(scope):
                    await _nul_problem(scope, request_id)(scope, receive, echoing_send)
                    return
                await self.app(scope, receive, echoing_send)
            finally:
                get_logger("postloan.access").info(
                    "request",
                    method=scope["method"],
                    route=route_template(scope),
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )


def _carries_nul(scope: Scope) -> bool:
    # PostgreSQL text cannot hold NUL, so no identifier or filter can contain one; refusing it here
    # spares every route from failing on it in the database.
    query = scope.get("query_string", b"")
    return "\x00" in scope["path"] or b"%00" in query or b"\x00" in query


def _nul_problem(scope: Scope, request_id: str) -> ProblemResponse:
    body = problem_body(
        status=400,
        detail="The URL carries a NUL character",
        instance=scope["path"].replace("\x00", "%00"),
        request_id=request_id,
    )
    return ProblemResponse(body, status_code=400)


def _valid_id(value: str | None) -> str | None:
    return value if value is not None and _ID_SHAPE.fullmatch(value) else None
