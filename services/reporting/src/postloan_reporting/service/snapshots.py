"""Daily snapshots: aggregates per business date, built once every partition closed the day."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_reporting.store import snapshots as store
from postloan_reporting.store.snapshots import aggregate_rows, build, latest_closed_day, mark_stale, vintage_balances

__all__ = [
    "REFRESH_LIMIT",
    "aggregate_rows",
    "build",
    "latest_closed_day",
    "mark_stale",
    "record_day_close",
    "refresh_stale",
    "vintage_balances",
]

# Stale snapshots rebuilt per call, so one back-valued event cannot hold a transaction for long.
REFRESH_LIMIT = 31


async def record_day_close(session: AsyncSession, *, business_date: date, partition: int, partitions: int) -> bool:
    """Note one partition's `day-closed`; build the day's snapshot when all have arrived (True then)."""
    if not await store.note_day_close(session, business_date=business_date, partition=partition, partitions=partitions):
        return False
    await build(session, business_date=business_date)
    return True


async def refresh_stale(session: AsyncSession, *, limit: int = REFRESH_LIMIT) -> int:
    """Rebuild up to `limit` stale snapshots, oldest first; return how many."""
    days = await store.stale_days(session, limit=limit)
    for day in days:
        await build(session, business_date=day)
    return len(days)
