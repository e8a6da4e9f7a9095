"""The reporting API: `uvicorn postloan_reporting.main:create_app --factory`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from postloan_common import web
from postloan_common.web import ProblemDetails
from postloan_reporting.api import routes
from postloan_reporting.settings import Settings


def create_app() -> FastAPI:
    """Build the reporting API from the environment's settings."""
    app = web.create_app(settings=Settings(), title="postloan reporting", routers=(routes.router,))
    _declare_problem_details(app)
    return app


def _declare_problem_details(app: FastAPI) -> None:
    """Put ProblemDetails in the document's components: every `problems(...)` response refers to it."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        spec = build()
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault(
            "ProblemDetails", ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
        )
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
