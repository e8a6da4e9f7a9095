"""The crm worker: `python -m postloan_crm.worker` — consumer, outbox relay and the reminder sender."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postloan_common.catalog import CONSUMES
from postloan_common.logging import get_logger
from postloan_common.worker import WorkerTask, run_worker
from postloan_crm.adapters.channels import ChannelSender, senders_from
from postloan_crm.consumers import build_batch_handlers, build_handlers
from postloan_crm.service.reminder_sending import send_due
from postloan_crm.settings import Settings
from postloan_crm.store.tables import inbox, outbox

SERVICE = "crm"
log = get_logger(__name__)


def sender_task(*, settings: Settings, senders: Mapping[str, ChannelSender]) -> WorkerTask:
    """A task that sends due communications every few seconds until stopped."""

    async def reminder_sender(sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event) -> None:
        while not stop.is_set():
            report = None
            try:
                report = await send_due(
                    sessions,
                    senders=senders,
                    now=datetime.now(UTC),
                    batch_size=settings.sender_batch_size,
                    max_attempts=settings.send_max_attempts,
                    retry_after=timedelta(seconds=settings.send_retry_after_s),
                    customer_retry=timedelta(seconds=settings.awaiting_customer_retry_s),
                )
            except Exception:
                log.exception("reminder sender round failed")
            counts = asdict(report) if report is not None else {}
            handled = sum(counts.values())
            if handled:
                log.info("reminders processed", **counts)
            # A full batch means more may be due: go again at once.
            wait = 0.0 if handled >= settings.sender_batch_size else settings.sender_interval_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)

    return reminder_sender


def main() -> None:
    """Run the consumer, the outbox relay and the reminder sender until stopped."""
    settings = Settings()
    strategy = settings.strategy()
    run_worker(
        settings=settings,
        tables=(outbox, inbox),
        handlers=build_handlers(strategy=strategy),
        batch_handlers=build_batch_handlers(strategy=strategy),
        topics=CONSUMES[SERVICE],
        extra_tasks=[sender_task(settings=settings, senders=senders_from(settings))],
        metrics_port=settings.metrics_port,
    )


if __name__ == "__main__":
    main()
