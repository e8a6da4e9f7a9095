"""Prometheus `/metrics` and per-request RED metrics labelled by route template."""

from __future__ import annotations

import time

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED_ROUTE = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LABELS = ("service", "method", "route", "status")

# Module-level singletons: the default registry refuses a second metric of the same name.
REQUEST_DURATION = Histogram("http_request_duration_seconds", "HTTP request duration by route template.", _LABELS)
REQUESTS_TOTAL = Counter("http_requests_total", "HTTP requests by route template.", _LABELS)

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Expose the default Prometheus registry."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def route_template(scope: Scope) -> str:
    """Return the matched route's path template, never the raw path."""
    # FastAPI routers included with a prefix no longer copy their routes, so scope["route"].path
    # lacks the prefix; the effective route context carries the full template when present.
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    template = getattr(context, "path_format", None) or getattr(scope.get("route"), "path", None)
    return template if isinstance(template, str) and template else UNMATCHED_ROUTE


def status_class(status: int) -> str:
    """Collapse a status code into its class, e.g. 404 -> `4xx`."""
    return f"{status // 100}xx"


class MetricsMiddleware:
    """Record duration and count of every HTTP request."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request and observe it once the app is done."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            labels = (self.service, method, route_template(scope), status_class(status))
            REQUEST_DURATION.labels(*labels).observe(time.perf_counter() - started)
            REQUESTS_TOTAL.labels(*labels).inc()
