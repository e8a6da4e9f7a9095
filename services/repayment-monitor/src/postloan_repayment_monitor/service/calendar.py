"""The business date: one row, read under a share lock by postings and locked by close of day."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_repayment_monitor.store.tables import business_calendar


async def business_date(session: AsyncSession, *, initial: date, lock: str | None = None) -> date:
    """The current business date D (created as `initial` on first use); `lock` is share or update."""
    query = select(business_calendar.c.business_date).where(business_calendar.c.id == 1)
    if lock == "share":
        query = query.with_for_update(read=True)
    elif lock == "update":
        query = query.with_for_update()
    current = (await session.execute(query)).scalar_one_or_none()
    if current is not None:
        return current
    await session.execute(
        insert(business_calendar).values(id=1, business_date=initial).on_conflict_do_nothing(index_elements=["id"])
    )
    return (await session.execute(query)).scalar_one()
