"""RFC 9457 problem details: every error leaves a service as `application/problem+json`."""

from __future__ import annotations

import traceback
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from postloan_common.logging import get_logger
from postloan_common.messaging.errors import is_transient

PROBLEM_JSON = "application/problem+json"
BLANK_TYPE = "about:blank"
REQUEST_ID_KEY = "request_id"
CORRELATION_ID_KEY = "correlation_id"


class ProblemResponse(JSONResponse):
    """JSON response with the problem+json media type."""

    media_type = PROBLEM_JSON


class ProblemDetails(BaseModel):
    """The problem document every 4xx/5xx carries; for the OpenAPI document, never built by handlers."""

    # Extension members (e.g. `errors` of a 422, `required_roles` of a 403) come on top.
    model_config = ConfigDict(extra="allow")

    type: str = BLANK_TYPE
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None


# Declared on every operation: any client error is a problem document (this also replaces
# FastAPI's default 422 schema, which describes a body the services never send).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "description": "Client error, as an RFC 9457 problem document",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
    }
}


class ProblemError(Exception):
    """Raise from service code to answer with a problem document of the given status."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type_: str = BLANK_TYPE,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.type_ = type_
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})


def request_id_of(scope: Scope) -> str | None:
    """Return the request id the request-context middleware stored in the scope, if any."""
    state = scope.get("state") or {}
    value = state.get(REQUEST_ID_KEY)
    return value if isinstance(value, str) else None


def problem_body(
    *,
    status: int,
    title: str | None = None,
    detail: str | None = None,
    type_: str = BLANK_TYPE,
    instance: str | None = None,
    request_id: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build a problem document; extension members never overwrite the standard ones."""
    body: dict[str, Any] = dict(jsonable_encoder(extra or {}))
    body.update(type=type_, title=title or _phrase(status), status=status, detail=detail or _phrase(status))
    if instance is not None:
        body["instance"] = instance
    if request_id is not None:
        body["request_id"] = request_id
    return body


def problem_response(
    request: Request,
    *,
    status: int,
    title: str | None = None,
    detail: str | None = None,
    type_: str = BLANK_TYPE,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> ProblemResponse:
    """Answer `request` with a problem document."""
    body = problem_body(
        status=status,
        title=title,
        detail=detail,
        type_=type_,
        instance=request.url.path,
        request_id=request_id_of(request.scope),
        extra=extra,
    )
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


def field_path(loc: Sequence[str | int]) -> str:
    """Render a pydantic error location as `body.installments[0].due_date`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


async def _problem_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        request,
        status=exc.status,
        title=exc.title,
        detail=exc.detail,
        type_=exc.type_,
        extra=exc.extra,
        headers=exc.headers,
    )


async def _http_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    # A structured detail from a handler is kept as an extension rather than stringified.
    extra = None if isinstance(exc.detail, str) else {"context": exc.detail}
    return problem_response(request, status=exc.status_code, detail=detail, extra=extra, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    raw = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in raw):
        return problem_response(
            request,
            status=422,
            detail="Request body is not valid JSON",
            extra={"errors": [{"field": "body", "message": "not valid JSON"}]},
        )
    # The offending input is left out on purpose: it may carry personal data.
    errors = [{"field": field_path(e.get("loc", ())), "message": e.get("msg", "")} for e in raw]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return problem_response(
        request,
        status=422,
        detail=f"Request validation failed: {summary}{more}",
        extra={"errors": errors},
    )


async def _unhandled_error(request: Request, exc: Exception) -> ProblemResponse:
    return unhandled_problem(request.scope, exc)


def _lost_insert_race(exc: Exception) -> bool:
    """A unique violation (23505), raised by asyncpg directly or wrapped by SQLAlchemy."""
    orig = getattr(exc, "orig", None)
    return any(
        getattr(candidate, "sqlstate", None) == "23505" for candidate in (exc, orig, getattr(orig, "__cause__", None))
    )


def unhandled_problem(scope: Scope, exc: BaseException) -> ProblemResponse:
    """Log `exc` with its traceback and build the generic 500 problem (503 when retrying can cure it)."""
    request_id = request_id_of(scope)
    log = get_logger("postloan.http")
    where = {**_loggable(exc), "path": scope.get("path"), "request_id": request_id}
    if isinstance(exc, Exception) and (is_transient(exc) or _lost_insert_race(exc)):
        # A dropped database connection, a deadlock, or a key a concurrent request inserted between
        # our check and our insert: the request did nothing, and a retry gets the right answer.
        log.warning("transient_failure", **where)
        detail = f"A dependency failed briefly; retry the request (request id {request_id})"
        return _server_problem(scope, 503, detail, request_id, headers={"Retry-After": "1"})
    log.error("unhandled_exception", **where)
    detail = f"An unexpected error occurred; quote request id {request_id} when reporting it"
    return _server_problem(scope, 500, detail, request_id)


def _server_problem(
    scope: Scope, status: int, detail: str, request_id: str | None, *, headers: dict[str, str] | None = None
) -> ProblemResponse:
    body = problem_body(status=status, detail=detail, instance=scope.get("path"), request_id=request_id)
    return ProblemResponse(body, status_code=status, headers=headers)


def _loggable(exc: BaseException) -> dict[str, Any]:
    """What to log of `exc`: a database error's message quotes the rejected value, so it gets none."""
    if not isinstance(exc, DBAPIError):
        return {"exc_info": exc}
    orig = exc.orig
    return {
        "error": type(orig).__name__,
        "sqlstate": getattr(orig, "sqlstate", None),
        "statement": exc.statement,
        "stack": "".join(traceback.format_tb(exc.__traceback__)),
    }


class UnhandledErrorMiddleware:
    """Turn an exception no handler took into a 500 problem inside the middleware stack."""

    # Starlette's own last-resort handler sits outside every user middleware and re-raises,
    # so request ids, access logs and metrics would never see the 500; this one sits inside.

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app and answer 500 if it raises before starting a response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            await unhandled_problem(scope, exc)(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    """Register the problem+json exception handlers and the last-resort middleware on `app`."""
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unhandled_error)
    app.add_middleware(UnhandledErrorMiddleware)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
