"""SQL of the business date as crm learns it from repayment.loans events."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.store.tables import business_calendar


async def note_business_date(session: AsyncSession, *, business_date: date | None) -> None:
    """Move the known business date forward (never back)."""
    if business_date is None:
        return
    stmt = insert(business_calendar).values(id=1, business_date=business_date)
    stmt = stmt.on_conflict_do_update(
        index_elements=[business_calendar.c.id],
        set_={"business_date": func.greatest(business_calendar.c.business_date, stmt.excluded.business_date)},
    )
    await session.execute(stmt)


async def current_business_date(session: AsyncSession) -> date:
    """The latest business date seen; today (UTC) before any event arrived."""
    value = await session.scalar(select(business_calendar.c.business_date).where(business_calendar.c.id == 1))
    return value or datetime.now(UTC).date()
