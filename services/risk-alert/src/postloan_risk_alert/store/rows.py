"""Reading one row: by its key (the shape every store's `get` shares), or the first of a query."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Executable, select
from sqlalchemy.ext.asyncio import AsyncSession


async def row_by_key(
    session: AsyncSession, key: Column[Any], value: Any, *, for_update: bool = False
) -> dict[str, Any] | None:
    """The row of `key`'s table whose `key` is `value` (locked for update on request), or None."""
    query = select(key.table).where(key == value)
    if for_update:
        query = query.with_for_update()
    return await first_row(session, query)


async def first_row(session: AsyncSession, query: Executable) -> dict[str, Any] | None:
    """The first row `query` returns, as a dict, or None."""
    row = (await session.execute(query)).first()
    return dict(row._mapping) if row else None
