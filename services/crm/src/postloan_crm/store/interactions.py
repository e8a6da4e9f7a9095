"""SQL of interactions: recording one, and the debtor's latest reach."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.store.tables import interactions


async def insert_interaction(session: AsyncSession, row: dict[str, Any]) -> None:
    """Record one interaction."""
    await session.execute(insert(interactions).values(**row))


async def debtor_reached_at(
    session: AsyncSession, *, customer_id: str, outcomes: Sequence[str], since: datetime
) -> datetime | None:
    """When the debtor was last reached with one of `outcomes` after `since` (any such contact), or None."""
    return await session.scalar(
        select(interactions.c.occurred_at)
        .where(
            interactions.c.customer_id == customer_id,
            interactions.c.party == "debtor",
            interactions.c.outcome.in_(tuple(outcomes)),
            interactions.c.occurred_at > since,
        )
        .limit(1)
    )
