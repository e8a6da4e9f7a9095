"""The reporting API: `uvicorn postloan_reporting.main:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI

from postloan_common import web
from postloan_reporting.api import routes
from postloan_reporting.settings import Settings


def create_app() -> FastAPI:
    """Build the reporting API from the environment's settings."""
    return web.create_app(settings=Settings(), title="postloan reporting", routers=(routes.router,))
