"""The crm API: `uvicorn postloan_crm.main:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI

from postloan_common import web
from postloan_crm.api import routes
from postloan_crm.settings import Settings


def create_app() -> FastAPI:
    """Build the crm API from the environment's settings."""
    return web.create_app(settings=Settings(), title="postloan crm", routers=(routes.router,))
