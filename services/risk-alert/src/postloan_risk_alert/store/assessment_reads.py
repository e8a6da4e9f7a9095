"""Assessments read back with the previous period's ratios beside each (one window over the customer)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_risk_alert.store.tables import assessments

_WITH_PREVIOUS = select(
    assessments,
    func.lag(assessments.c.ratios)
    .over(partition_by=assessments.c.customer_id, order_by=assessments.c.period_end)
    .label("previous_ratios"),
    func.lag(assessments.c.period_end)
    .over(partition_by=assessments.c.customer_id, order_by=assessments.c.period_end)
    .label("previous_period_end"),
).subquery("a")


async def page(
    session: AsyncSession, *, customer_id: str | None, after_id: int | None, limit: int
) -> list[dict[str, Any]]:
    """Assessments newest id first (`limit + 1` rows), of one customer or all."""
    query = select(_WITH_PREVIOUS).order_by(_WITH_PREVIOUS.c.id.desc()).limit(limit + 1)
    if customer_id is not None:
        query = query.where(_WITH_PREVIOUS.c.customer_id == customer_id)
    if after_id is not None:
        query = query.where(_WITH_PREVIOUS.c.id < after_id)
    return [dict(r._mapping) for r in await session.execute(query)]


async def one(session: AsyncSession, assessment_id: int) -> dict[str, Any] | None:
    """One assessment with the previous period's ratios."""
    row = (await session.execute(select(_WITH_PREVIOUS).where(_WITH_PREVIOUS.c.id == assessment_id))).first()
    return dict(row._mapping) if row else None
