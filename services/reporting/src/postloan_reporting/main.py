"""The reporting API: `uvicorn postloan_reporting.main:create_app --factory`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from postloan_common import web
from postloan_reporting.api import effectiveness, recoveries, routes, schedules
from postloan_reporting.settings import Settings


def create_app() -> FastAPI:
    """Build the reporting API from the environment's settings."""
    settings = Settings()
    app = web.create_app(
        settings=settings,
        title="postloan reporting",
        routers=(routes.router, recoveries.router, schedules.router, effectiveness.router),
    )
    if Path(settings.console_dir).is_dir():
        app.mount("/console", StaticFiles(directory=settings.console_dir, html=True), name="console")
    return app
