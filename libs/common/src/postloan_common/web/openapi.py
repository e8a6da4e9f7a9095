"""Shared OpenAPI shapes for every service: one page model, one way to declare error responses.

Front-end teams generate typed clients from each service's `openapi.json`; a list endpoint
answers `Page[Item]` and every operation declares the problem+json statuses it really returns.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, PlainSerializer, WithJsonSchema

from postloan_common.web.problems import PROBLEM_JSON, ProblemDetails

Item = TypeVar("Item")

_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing or invalid bearer token",
    403: "The token has none of the roles this operation requires",
    404: "Not found (or not visible to the caller)",
    409: "Conflicts with the current state or an earlier request with the same id",
    413: "Request body too large",
    422: "The request failed validation",
    503: "A dependency is unavailable; retry later",
}


class Page(BaseModel, Generic[Item]):
    """One page of a list: the items and the cursor of the next page (null on the last page)."""

    items: list[Item]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` to read the next page")


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry declaring each status as an RFC 9457 problem document."""
    schema = {"$ref": "#/components/schemas/ProblemDetails"}
    return {
        status: {"description": _DESCRIPTIONS.get(status, "Error"), "content": {PROBLEM_JSON: {"schema": schema}}}
        for status in statuses
    }


# A signed decimal of any scale (a score, a ratio, a delta) that travels as a JSON string.
DecimalText = Annotated[
    Decimal,
    PlainSerializer(lambda v: format(v, "f"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}),
]
# An instant as Python's isoformat gives it ("+00:00", not "Z"), so typed bodies keep their old text.
Timestamp = Annotated[
    datetime,
    PlainSerializer(lambda v: v.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
# A day a caller without pii:read sees only partly ("1990-**-**"), so it is text, not `format: date`.
MaskedDate = Annotated[str, WithJsonSchema({"type": "string", "description": "ISO date, or YYYY-**-** when masked"})]


def camel_operation_id(route: APIRoute) -> str:
    """An operationId from the handler's name (`list_cases` → `listCases`) where a route names none."""
    head, *rest = route.name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def install_openapi(app: FastAPI) -> None:
    """Serve an OpenAPI document whose components hold ProblemDetails, which `problems()` refers to."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version, routes=app.routes, description=app.description)
            schemas = spec.setdefault("components", {}).setdefault("schemas", {})
            schemas.setdefault("ProblemDetails", ProblemDetails.model_json_schema(ref_template=_REF))
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_REF = "#/components/schemas/{model}"
_CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")


def is_camel(operation_id: str) -> bool:
    """True when `operation_id` reads as lowerCamelCase (what generated clients name methods after)."""
    return bool(_CAMEL.match(operation_id))


__all__ = [
    "DecimalText",
    "MaskedDate",
    "Page",
    "ProblemDetails",
    "Timestamp",
    "camel_operation_id",
    "install_openapi",
    "is_camel",
    "problems",
]
