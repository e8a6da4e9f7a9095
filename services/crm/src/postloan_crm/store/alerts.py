"""SQL of risk alerts: the alert rows, the customer's timeline, what crm knows of an alert's loan."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.store.alert_tables import customer_timeline, risk_alerts
from postloan_crm.store.tables import loans


async def add_alert(session: AsyncSession, row: Mapping[str, Any]) -> bool:
    """Record a raised alert; False when it was already known (a second raise changes nothing)."""
    stmt = pg_insert(risk_alerts).values(**row).on_conflict_do_nothing(index_elements=[risk_alerts.c.alert_id])
    return bool((await session.execute(stmt.returning(risk_alerts.c.alert_id))).first())


async def close_alert(
    session: AsyncSession, *, alert_id: str, status: str, resolved_on: date | None
) -> dict[str, Any] | None:
    """Close the open alert; None when it is unknown or already closed."""
    stmt = (
        update(risk_alerts)
        .where(risk_alerts.c.alert_id == alert_id, risk_alerts.c.status == "open")
        .values(status=status, resolved_on=resolved_on, updated_at=func.now())
        .returning(risk_alerts)
    )
    row = (await session.execute(stmt)).mappings().first()
    return dict(row) if row else None


async def loans_of(session: AsyncSession, loan_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """What crm's projection says of each loan: customer, bucket, dpd, overdue, currency."""
    if not loan_ids:
        return {}
    query = select(
        loans.c.loan_id, loans.c.customer_id, loans.c.bucket, loans.c.dpd, loans.c.overdue, loans.c.currency
    ).where(loans.c.loan_id.in_(list(loan_ids)))
    return {r["loan_id"]: dict(r) for r in (await session.execute(query)).mappings()}


async def add_timeline_entries(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append entries to customers' timelines, in their order."""
    if rows:
        await session.execute(insert(customer_timeline), list(rows))


async def customer_entries(
    session: AsyncSession, *, customer_id: str, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """At most limit+1 entries of the customer's timeline, newest first, before the id cursor."""
    query = (
        select(customer_timeline)
        .where(customer_timeline.c.customer_id == customer_id)
        .order_by(customer_timeline.c.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(customer_timeline.c.id < before)
    return [dict(r) for r in (await session.execute(query)).mappings()]
