"""The automatic close of day of the worker (production): close the due business days at the set local time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postloan_common.logging import get_logger
from postloan_repayment_monitor.domain.rules import BucketScheme
from postloan_repayment_monitor.domain.scheduling import close_cutoff, next_run
from postloan_repayment_monitor.service import metrics
from postloan_repayment_monitor.service.calendar import business_date
from postloan_repayment_monitor.service.close_of_day import CloseResult, close_audited
from postloan_repayment_monitor.settings import Settings

log = get_logger(__name__)

Sessions = async_sessionmaker[AsyncSession]
ACTOR = "close-of-day-scheduler"
# Wake at least this often, so a changed clock or a calendar advanced by hand is noticed.
MAX_SLEEP_S = 300.0
RETRY_S = 30.0


async def close_until(
    sessions: Sessions, *, settings: Settings, buckets: BucketScheme, before: date, actor: str = ACTOR
) -> list[CloseResult]:
    """Close every business day before `before`, oldest first, each in its own transaction."""
    async with sessions() as session:
        day = await business_date(session, initial=settings.first_business_date())
        await session.commit()
    results: list[CloseResult] = []
    while day < before:
        started = time.perf_counter()
        correlation_id = f"close-of-day:{day.isoformat()}"
        async with sessions.begin() as session:
            result = await close_audited(
                session, settings=settings, buckets=buckets, expected=day, correlation_id=correlation_id, actor=actor
            )
        metrics.count_close(result, seconds=time.perf_counter() - started)
        log.info(
            "business day closed",
            business_date=result.business_date.isoformat(),
            already_closed=result.already_closed,
            remaining=(before - result.next_business_date).days,
            **{k: v for k, v in result.stats.items() if isinstance(v, int)},
        )
        results.append(result)
        day = result.next_business_date
    return results


async def close_due_days(
    sessions: Sessions, *, settings: Settings, buckets: BucketScheme, now: datetime
) -> list[CloseResult]:
    """Close the business days that are due at `now` under settings.close_of_day_at."""
    assert settings.close_of_day_at is not None
    before = close_cutoff(now=now, close_at=settings.close_of_day_at, zone=ZoneInfo(settings.business_timezone))
    return await close_until(sessions, settings=settings, buckets=buckets, before=before)


def close_of_day_task(
    *, settings: Settings, buckets: BucketScheme
) -> Callable[[Sessions, asyncio.Event], Awaitable[None]]:
    """A worker task that closes due business days at settings.close_of_day_at until stopped."""
    close_at = settings.close_of_day_at
    if close_at is None:
        raise ValueError("close_of_day_at is not set")
    zone = ZoneInfo(settings.business_timezone)

    async def close_of_day(sessions: Sessions, stop: asyncio.Event) -> None:
        log.info("close-of-day scheduler started", close_at=close_at.isoformat(), timezone=settings.business_timezone)
        while not stop.is_set():
            now = datetime.now(UTC)
            try:
                await close_due_days(sessions, settings=settings, buckets=buckets, now=now)
                wait_s = min(MAX_SLEEP_S, (next_run(now=now, close_at=close_at, zone=zone) - now).total_seconds())
            except Exception as exc:  # the database may be away; the days stay due and are closed on retry
                log.error("close of day failed, will retry", error=repr(exc), retry_s=RETRY_S)
                wait_s = RETRY_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(wait_s, 0.0))

    return close_of_day
