"""SQL of click-to-call attempts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.store.tables import calls


async def insert_call(session: AsyncSession, row: dict[str, Any]) -> None:
    """Record a call attempt."""
    await session.execute(insert(calls).values(**row))


async def lock_call(session: AsyncSession, call_id: str) -> dict[str, Any] | None:
    """The call, locked for update (a second callback waits for the first)."""
    row = (await session.execute(select(calls).where(calls.c.call_id == call_id).with_for_update())).mappings().first()
    return dict(row) if row else None


async def change_call(session: AsyncSession, call_id: str, **values: Any) -> dict[str, Any]:
    """Set `values` on the call; return it."""
    query = update(calls).where(calls.c.call_id == call_id).values(**values, updated_at=func.now()).returning(calls)
    return dict((await session.execute(query)).mappings().one())
