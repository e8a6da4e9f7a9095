"""The repayment-monitor API: `uvicorn postloan_repayment_monitor.main:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI

from postloan_common import web
from postloan_repayment_monitor.api import routes
from postloan_repayment_monitor.settings import Settings


def create_app() -> FastAPI:
    """Build the repayment-monitor API from the environment's settings."""
    return web.create_app(settings=Settings(), title="postloan repayment-monitor", routers=(routes.router,))
