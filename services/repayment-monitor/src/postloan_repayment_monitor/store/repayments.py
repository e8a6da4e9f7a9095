"""Repayments SQL: earlier answers by id, the COPY of new postings, and reversals."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_repayment_monitor.store.tables import repayments

_KNOWN = """
    SELECT r.repayment_id, r.request_hash, r.result
    FROM unnest($1::text[]) AS k(repayment_id) JOIN repayments r ON r.repayment_id = k.repayment_id
"""
_NEW_COLUMNS = [
    "repayment_id",
    "loan_id",
    "amount",
    "currency",
    "value_date",
    "channel",
    "posted_on",
    "request_hash",
    "status",
    "result",
]


async def known_repayments(conn: Any, repayment_ids: list[str]) -> dict[str, Any]:
    """Rows (repayment_id, request_hash, result) of the repayments already posted, by id."""
    return {row["repayment_id"]: row for row in await conn.fetch(_KNOWN, repayment_ids)}


async def copy_new_repayments(conn: Any, rows: list[dict[str, Any]]) -> None:
    """COPY new posted repayments (dicts of _NEW_COLUMNS) on the session's connection."""
    await conn.copy_records_to_table(
        repayments.name,
        columns=_NEW_COLUMNS,
        records=[(*(row[c] for c in _NEW_COLUMNS[:-1]), orjson.dumps(row["result"]).decode()) for row in rows],
    )


async def loan_of_repayment(session: AsyncSession, *, repayment_id: str) -> str | None:
    """The loan a repayment was posted to, or None when unknown."""
    query = select(repayments.c.loan_id).where(repayments.c.repayment_id == repayment_id)
    return (await session.execute(query)).scalar_one_or_none()


async def repayment(session: AsyncSession, *, repayment_id: str) -> Any:
    """The repayment's row (it exists)."""
    return (await session.execute(select(repayments).where(repayments.c.repayment_id == repayment_id))).one()


async def mark_reversed(
    session: AsyncSession, *, repayment_id: str, on: date, reason: str, result: dict[str, Any]
) -> None:
    """Record the reversal of a repayment and its answer."""
    await session.execute(
        update(repayments)
        .where(repayments.c.repayment_id == repayment_id)
        .values(status="reversed", reversed_on=on, reversal_reason=reason, reversal_result=result)
    )
