"""SQL of service tickets."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.store.tables import tickets


async def insert_ticket(session: AsyncSession, row: dict[str, Any]) -> dict[str, Any]:
    """Insert a ticket and return its stored row."""
    return dict((await session.execute(insert(tickets).values(**row).returning(tickets))).mappings().one())


async def lock_ticket(session: AsyncSession, ticket_id: str) -> dict[str, Any] | None:
    """The ticket, locked for update."""
    query = select(tickets).where(tickets.c.ticket_id == ticket_id).with_for_update()
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def update_ticket(session: AsyncSession, ticket_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """Change the ticket's `values` (and its updated_at); return the row after."""
    query = update(tickets).where(tickets.c.ticket_id == ticket_id).values(**values, updated_at=func.now())
    return dict((await session.execute(query.returning(tickets))).mappings().one())
