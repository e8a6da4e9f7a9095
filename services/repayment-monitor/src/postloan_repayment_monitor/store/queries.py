"""Read-model SQL: contractual due dates, the overdue work list, a loan's events, the last closed day."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from postloan_repayment_monitor.store.close_of_day import OPEN_PIF, PENALTY_OPEN
from postloan_repayment_monitor.store.tables import closed_days, installments, loan_events, loans


async def contract_due_dates(session: AsyncSession, *, loan_id: str) -> dict[int, date]:
    """The contractual due date of each of the loan's installments that falls due on another day."""
    rows = await session.execute(
        select(installments.c.seq, installments.c.contract_due_date).where(
            installments.c.loan_id == loan_id, installments.c.contract_due_date.is_not(None)
        )
    )
    return {seq: day for seq, day in rows.all()}


async def overdue_loans(
    session: AsyncSession,
    *,
    business_date: date,
    due_by: date | None,
    status: str,
    bucket: str | None,
    product: str | None,
    branch: str | None,
    after: tuple[date, str] | None,
    limit: int,
) -> list[Any]:
    """Loans with an unpaid due date (at most `due_by`), oldest first after the keyset `after`, with overdue_amount."""
    conditions: list[ColumnElement[bool]] = [loans.c.oldest_unpaid_due.is_not(None)]
    if due_by is not None:
        conditions.append(loans.c.oldest_unpaid_due <= due_by)
    conditions.append(loans.c.status == status)
    # The work list's optional filters: each narrows the list only when given.
    for column, value in ((loans.c.bucket, bucket), (loans.c.product, product), (loans.c.branch, branch)):
        if value:
            conditions.append(column == value)
    if after is not None:
        after_due, after_id = after
        conditions.append(
            or_(
                loans.c.oldest_unpaid_due > after_due,
                and_(loans.c.oldest_unpaid_due == after_due, loans.c.loan_id > after_id),
            )
        )
    overdue = text(
        f"(SELECT coalesce(sum({OPEN_PIF} + {PENALTY_OPEN}), 0) FROM installments i "
        "JOIN loans l ON l.loan_id = i.loan_id "
        "WHERE i.loan_id = loans.loan_id AND i.due_date < CAST(:as_of AS date)) AS overdue_amount"
    )
    query = select(loans, overdue).where(*conditions).order_by(loans.c.oldest_unpaid_due, loans.c.loan_id).limit(limit)
    return list((await session.execute(query, {"as_of": business_date})).all())


async def event_rows(session: AsyncSession, *, loan_id: str, after: int | None, limit: int) -> list[Any]:
    """Up to `limit` of the loan's history rows after id `after`, oldest first."""
    query = select(loan_events).where(loan_events.c.loan_id == loan_id)
    if after is not None:
        query = query.where(loan_events.c.id > after)
    return list((await session.execute(query.order_by(loan_events.c.id).limit(limit))).all())


async def last_closed(session: AsyncSession) -> date | None:
    """The latest closed business date."""
    return (await session.execute(select(func.max(closed_days.c.business_date)))).scalar_one_or_none()
