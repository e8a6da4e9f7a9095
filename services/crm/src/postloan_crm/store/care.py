"""SQL of care touchpoints as the API reads and marks them."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.domain.access import CaseScope
from postloan_crm.store.access import visible_customer
from postloan_crm.store.tables import care_touchpoints


async def list_touchpoints(
    session: AsyncSession,
    *,
    scope: CaseScope | None,
    status: str | None,
    due_before: date | None,
    customer_id: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Touchpoints of the customers in scope, filtered, soonest first."""
    query = (
        select(care_touchpoints)
        .where(visible_customer(care_touchpoints.c.customer_id, scope))
        .order_by(care_touchpoints.c.due_on, care_touchpoints.c.id)
        .limit(limit)
    )
    if status:
        query = query.where(care_touchpoints.c.status == status)
    if due_before:
        query = query.where(care_touchpoints.c.due_on <= due_before)
    if customer_id:
        query = query.where(care_touchpoints.c.customer_id == customer_id)
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def mark_touchpoint(
    session: AsyncSession, *, touchpoint_id: int, scope: CaseScope | None, status: str, note: str | None
) -> dict[str, Any] | None:
    """Set the touchpoint's status and note; None when unknown or outside the scope."""
    statement = (
        update(care_touchpoints)
        .where(care_touchpoints.c.id == touchpoint_id, visible_customer(care_touchpoints.c.customer_id, scope))
        .values(status=status, note=note, updated_at=func.now())
        .returning(care_touchpoints)
    )
    row = (await session.execute(statement)).mappings().first()
    return dict(row) if row else None
