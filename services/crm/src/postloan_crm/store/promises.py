"""SQL of promises to pay: recording one, the open promises of a run's loans, those due, their updates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.store.tables import promises

_OPEN_PROMISES = """
    SELECT p.promise_id, p.case_id, p.loan_id, p.customer_id, p.amount, p.currency, p.promised_date, p.made_on,
           p.amount_paid, p.status, p.resolved_on
    FROM unnest(CAST(:loan_ids AS text[])) AS k(loan_id) JOIN promises p ON p.loan_id = k.loan_id
    WHERE p.status = 'open'
    ORDER BY p.loan_id, p.promised_date, p.promise_id
    FOR UPDATE OF p
"""
_UPDATE_PROMISES = """
    UPDATE promises AS p
    SET amount_paid = u.amount_paid, status = u.status, resolved_on = u.resolved_on, updated_at = now()
    FROM unnest(CAST(:promise_id AS text[]), CAST(:amount_paid AS numeric[]), CAST(:status AS text[]),
                CAST(:resolved_on AS date[])) AS u(promise_id, amount_paid, status, resolved_on)
    WHERE p.promise_id = u.promise_id
"""


async def insert_promise(session: AsyncSession, row: dict[str, Any]) -> None:
    """Record one promise."""
    await session.execute(insert(promises).values(**row))


async def lock_open_promises(session: AsyncSession, loan_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The open promises of `loan_ids`, locked, each loan's in the order payments count towards them."""
    if not loan_ids:
        return []
    return [dict(r) for r in (await session.execute(text(_OPEN_PROMISES), {"loan_ids": list(loan_ids)})).mappings()]


async def lock_due_promises(session: AsyncSession, *, business_date: date) -> list[dict[str, Any]]:
    """The open promises whose date is `business_date` or earlier, locked, in id order."""
    query = (
        select(promises)
        .where(promises.c.status == "open", promises.c.promised_date <= business_date)
        .order_by(promises.c.promise_id)
        .with_for_update(skip_locked=False)
    )
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def update_promises(session: AsyncSession, columns: dict[str, list[Any]]) -> None:
    """Write back amount_paid, status and resolved_on of the promises in `columns` (one list per column)."""
    if columns["promise_id"]:
        await session.execute(text(_UPDATE_PROMISES), columns)
