"""Calendar SQL: the business date row, the calendar's days, and the re-shift of due dates after a change."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.db import driver_connection
from postloan_repayment_monitor.store.tables import business_calendar, calendar_days, products


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


async def calendar_rows(session: AsyncSession) -> list[Any]:
    """Every calendar entry: day, kind, name."""
    return list((await session.execute(select(calendar_days.c.day, calendar_days.c.kind, calendar_days.c.name))).all())


async def shifting_products(session: AsyncSession, *, codes: Iterable[str]) -> set[str]:
    """Those of `codes` whose due dates shift to business days."""
    query = select(products.c.code).where(products.c.code.in_(set(codes)), products.c.shift_due_dates)
    return set((await session.execute(query)).scalars().all())


async def day_page(
    session: AsyncSession, *, start: date | None, end: date | None, after: date | None, limit: int
) -> list[Any]:
    """Up to `limit` calendar entries from `start` to `end` (inclusive) after `after`, by day."""
    query = select(calendar_days).order_by(calendar_days.c.day).limit(limit)
    if start is not None:
        query = query.where(calendar_days.c.day >= start)
    if end is not None:
        query = query.where(calendar_days.c.day <= end)
    if after is not None:
        query = query.where(calendar_days.c.day > after)
    return list((await session.execute(query)).all())


async def day_row(session: AsyncSession, *, day: date, lock: bool = False) -> Any:
    """The entry for `day` (locked FOR UPDATE when `lock`), or None."""
    query = select(calendar_days).where(calendar_days.c.day == day)
    return (await session.execute(query.with_for_update() if lock else query)).first()


async def upsert_day(session: AsyncSession, *, day: date, kind: str, name: str, actor: str) -> Any:
    """Add or replace the entry for `day`; the row written."""
    values = {"kind": kind, "name": name, "updated_at": func.now(), "updated_by": actor}
    statement = (
        insert(calendar_days)
        .values(day=day, **values)
        .on_conflict_do_update(index_elements=[calendar_days.c.day], set_=values)
        .returning(calendar_days)
    )
    return (await session.execute(statement)).one()


async def delete_day(session: AsyncSession, *, day: date) -> Any:
    """Remove the entry for `day`; the row removed, or None."""
    return (
        await session.execute(delete(calendar_days).where(calendar_days.c.day == day).returning(calendar_days))
    ).first()


# $1 the first open day (D + 1); $2, $3 the calendar's non-business days and the day each shifts to.
# {scope} and {where} narrow the installments considered; {oldest} gives each loan of a moved
# installment its oldest open due date. Only rows whose date changes are joined back and updated.
_RESHIFT = """
WITH target AS (
    SELECT i.loan_id, i.seq, i.due_date, i.contract_due_date, coalesce(i.contract_due_date, i.due_date) AS contractual,
           greatest(coalesce(i.contract_due_date, i.due_date), $1::date) AS earliest,
           coalesce(p.shift_due_dates, false) AS shifts, l.grace_days
    FROM installments i
    JOIN loans l ON l.loan_id = i.loan_id
    {scope}
    WHERE i.settled_on IS NULL AND i.due_date >= $1::date AND l.status = 'active' {where}
),
placed AS (
    SELECT t.loan_id, t.seq, t.grace_days, t.due_date AS was, d.due, nullif(t.contractual, d.due) AS contract_due_date,
           t.contract_due_date IS DISTINCT FROM nullif(t.contractual, d.due) AS contract_changes
    FROM target t
    LEFT JOIN unnest($2::date[], $3::date[]) AS s(day, next_day) ON t.shifts AND s.day = t.earliest
    CROSS JOIN LATERAL (SELECT coalesce(s.next_day, t.earliest) AS due) d
),
moved AS (
    UPDATE installments i SET due_date = p.due, grace_ends_on = p.due + p.grace_days,
        contract_due_date = p.contract_due_date
    FROM (SELECT * FROM placed WHERE was <> due OR contract_changes) p
    WHERE i.loan_id = p.loan_id AND i.seq = p.seq
    RETURNING i.loan_id, i.seq, i.due_date
),
oldest AS ({oldest}),
loans_moved AS (
    UPDATE loans l SET oldest_unpaid_due = o.due, updated_at = now()
    FROM oldest o
    WHERE l.loan_id = o.loan_id AND l.oldest_unpaid_due >= $1::date AND l.oldest_unpaid_due <> o.due
    RETURNING 1
)
SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM loans_moved)
"""

# A calendar change moves only installments of shifting products whose due date is the day the
# changed day's run of non-business days ended on before the change (see reshift_around). Their
# loans are few: their open installments are read again, with the moved ones' new dates (the
# statement's other parts see installments as they were before it).
_AROUND_SCOPE = "JOIN products p ON p.code = l.product AND p.shift_due_dates"
_AROUND_WHERE = "AND i.due_date = $4::date AND coalesce(i.contract_due_date, i.due_date) <= $5::date"
_AROUND_OLDEST = """
    SELECT i.loan_id, min(coalesce(m.due_date, i.due_date)) AS due
    FROM installments i LEFT JOIN moved m ON m.loan_id = i.loan_id AND m.seq = i.seq
    WHERE i.settled_on IS NULL AND i.loan_id IN (SELECT loan_id FROM moved)
    GROUP BY i.loan_id
"""
# A product's loans: every open installment of a loan not yet past due is in `placed`.
_PRODUCT_SCOPE = "LEFT JOIN products p ON p.code = l.product"
_PRODUCT_WHERE = "AND l.product = $4::text"
_PRODUCT_OLDEST = "SELECT loan_id, min(due) AS due FROM placed GROUP BY loan_id"


async def reshift_around(
    session: AsyncSession, *, first_open: date, days: list[date], next_days: list[date], old_due: date, day: date
) -> int:
    """Move the open installments of shifting products due on `old_due` whose search passed `day`; how many."""
    conn = await driver_connection(session)
    statement = _RESHIFT.format(scope=_AROUND_SCOPE, where=_AROUND_WHERE, oldest=_AROUND_OLDEST)
    moved, _loans = await conn.fetchrow(statement, first_open, days, next_days, old_due, day)
    return int(moved)


async def last_open_due_date(session: AsyncSession, *, first_open: date) -> date | None:
    """The latest due date of an open installment from `first_open` on, or None."""
    conn = await driver_connection(session)
    last: date | None = await conn.fetchval(
        "SELECT max(due_date) FROM installments WHERE settled_on IS NULL AND due_date >= $1::date", first_open
    )
    return last


async def reshift_product(
    session: AsyncSession, *, first_open: date, days: list[date], next_days: list[date], product: str
) -> int:
    """Re-place every open installment of `product`'s loans from `first_open` on; how many moved."""
    conn = await driver_connection(session)
    statement = _RESHIFT.format(scope=_PRODUCT_SCOPE, where=_PRODUCT_WHERE, oldest=_PRODUCT_OLDEST)
    moved, _loans = await conn.fetchrow(statement, first_open, days, next_days, product)
    return int(moved)
