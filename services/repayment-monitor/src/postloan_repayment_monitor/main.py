"""The repayment-monitor API: `uvicorn postloan_repayment_monitor.main:create_app --factory`."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from postloan_common import web
from postloan_common.logging import get_logger
from postloan_repayment_monitor.api import routes
from postloan_repayment_monitor.service import bulk_jobs
from postloan_repayment_monitor.settings import Settings

log = get_logger(__name__)


def create_app() -> FastAPI:
    """Build the repayment-monitor API from the environment's settings."""
    return web.create_app(
        settings=Settings(), title="postloan repayment-monitor", routers=(routes.router,), on_startup=_fail_stale_jobs
    )


async def _fail_stale_jobs(app: FastAPI) -> None:
    """Bulk jobs left running by a process that stopped are failed with the reason (issue 13 item 5)."""
    settings: Settings = app.state.settings
    async with app.state.sessions.begin() as session:
        failed = await bulk_jobs.fail_stale_jobs(session, silent_for=timedelta(seconds=settings.bulk_stale_after_s))
    if failed:
        log.warning("stale bulk jobs marked failed", job_ids=failed)
