"""The fineract-connector API: `uvicorn postloan_fineract_connector.main:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI

from postloan_common import web
from postloan_fineract_connector.api import routes
from postloan_fineract_connector.settings import Settings


def create_app() -> FastAPI:
    """Build the fineract-connector API from the environment's settings."""
    return web.create_app(settings=Settings(), title="postloan fineract-connector", routers=(routes.router,))
