"""Assessments as read back: figures, ratios and each ratio's change from the previous period."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_risk_alert.domain.trends import ratio_changes
from postloan_risk_alert.service.assessments import FIGURES
from postloan_risk_alert.store import assessment_reads as store


def _decimals(ratios: dict[str, Any] | None) -> dict[str, Decimal | None] | None:
    if ratios is None:
        return None
    return {k: Decimal(v) if v is not None else None for k, v in ratios.items()}


def view(row: dict[str, Any]) -> dict[str, Any]:
    """The API shape of an assessment row."""
    current = _decimals(row["ratios"]) or {}
    return {
        "id": row["id"],
        "customer_id": row["customer_id"],
        "period_end": row["period_end"],
        "currency": row["currency"],
        "figures": {k: row[k] for k in FIGURES},
        "ratios": current,
        "previous_period_end": row["previous_period_end"],
        "changes": ratio_changes(current, _decimals(row["previous_ratios"])),
        "created_by": row["created_by"],
    }


async def page(
    session: AsyncSession, *, customer_id: str | None, after_id: int | None, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of assessments and the id to continue after (None on the last page)."""
    rows = await store.page(session, customer_id=customer_id, after_id=after_id, limit=limit)
    more = len(rows) > limit
    items = [view(r) for r in rows[:limit]]
    return items, (items[-1]["id"] if more else None)


async def one(session: AsyncSession, *, assessment_id: int) -> dict[str, Any] | None:
    """One assessment, or None."""
    row = await store.one(session, assessment_id)
    return view(row) if row else None
