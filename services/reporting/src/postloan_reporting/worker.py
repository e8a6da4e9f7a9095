"""The reporting worker: `python -m postloan_reporting.worker`."""

from __future__ import annotations

import asyncio
import contextlib
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postloan_common.catalog import CONSUMES
from postloan_common.logging import get_logger
from postloan_common.worker import run_worker
from postloan_reporting.adapters.mail import SmtpMailer
from postloan_reporting.consumers import batch_handlers
from postloan_reporting.service import gauges, schedules, snapshots
from postloan_reporting.settings import Settings
from postloan_reporting.store.tables import inbox, outbox

SERVICE = "reporting"
REFRESH_EVERY_S = 5.0

log = get_logger(__name__)


async def refresh_snapshots(sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event) -> None:
    """Rebuild snapshots that late events made stale, and refresh the business gauges, until stopped."""
    while not stop.is_set():
        try:
            async with sessions.begin() as session:
                rebuilt = await snapshots.refresh_stale(session)
            async with sessions() as session:
                await gauges.refresh(session)
            if rebuilt:
                log.info("stale snapshots rebuilt", count=rebuilt)
        except Exception:
            log.exception("snapshot refresh failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REFRESH_EVERY_S)


def mailer(settings: Settings) -> SmtpMailer:
    """The SMTP client of the scheduled reports."""
    return SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        start_tls=settings.smtp_start_tls,
        timeout_s=settings.smtp_timeout_s,
    )


def main() -> None:
    """Run the consumer of every topic, the outbox relay, the snapshot refresher and the report schedules."""
    settings = Settings()
    send_reports = partial(schedules.send_forever, mailer=mailer(settings), every_s=settings.schedule_every_s)
    run_worker(
        settings=settings,
        tables=(outbox, inbox),
        batch_handlers=batch_handlers(),
        topics=CONSUMES[SERVICE],
        extra_tasks=[refresh_snapshots, send_reports],
        metrics_port=settings.metrics_port,
    )


if __name__ == "__main__":
    main()
