"""Shared OpenAPI shapes for every service: one page model, one way to declare error responses.

Front-end teams generate typed clients from each service's `openapi.json`; a list endpoint
answers `Page[Item]` and every operation declares the problem+json statuses it really returns.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

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


__all__ = ["Page", "ProblemDetails", "problems"]
