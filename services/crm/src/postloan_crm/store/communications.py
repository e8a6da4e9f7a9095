"""SQL of communications being sent: the due ones, their changes, what makes one moot."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.store.tables import communications, installments_due, loans


async def lock_due(
    session: AsyncSession, *, statuses: Sequence[str], now: datetime, limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` communications in `statuses` due by `now`, oldest first, locked (skipping locked ones)."""
    query = (
        select(communications)
        .where(communications.c.status.in_(tuple(statuses)), communications.c.send_after <= now)
        .order_by(communications.c.send_after, communications.c.communication_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def change(session: AsyncSession, communication_id: str, **values: Any) -> None:
    """Set `values` on the communication (and its updated_at)."""
    await session.execute(
        update(communications)
        .where(communications.c.communication_id == communication_id)
        .values(**values, updated_at=func.now())
    )


async def loan_status(session: AsyncSession, loan_id: str) -> str | None:
    """The loan's status in crm's projection, or None when unknown."""
    return await session.scalar(select(loans.c.status).where(loans.c.loan_id == loan_id))


async def installment_paid(session: AsyncSession, *, loan_id: str, seq: int) -> bool:
    """Whether the installment is settled (paid on a date, or paid in full)."""
    found = await session.scalar(
        select(installments_due.c.seq).where(
            installments_due.c.loan_id == loan_id,
            installments_due.c.seq == seq,
            or_(
                installments_due.c.paid_on.is_not(None), installments_due.c.amount_paid >= installments_due.c.amount_due
            ),
        )
    )
    return found is not None
