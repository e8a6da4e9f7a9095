"""The reporting worker: `python -m postloan_reporting.worker`."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postloan_common.catalog import CONSUMES
from postloan_common.logging import get_logger
from postloan_common.worker import run_worker
from postloan_reporting.adapters.mail import SmtpMailer
from postloan_reporting.consumers import batch_handlers
from postloan_reporting.service import gauges, schedules, snapshots
from postloan_reporting.service.effectiveness import costs_from
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
    """The SMTP client of the scheduled reports, from the `smtp_*` settings."""
    return SmtpMailer(**settings.model_dump(include={f.name for f in dataclasses.fields(SmtpMailer)}))


def main() -> None:
    """Run the consumer of every topic, the outbox relay, the snapshot refresher and the report schedules."""
    settings = Settings()
    send_reports = partial(
        schedules.send_forever,
        mailer=mailer(settings),
        every_s=settings.schedule_every_s,
        costs=costs_from(settings),
    )
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
