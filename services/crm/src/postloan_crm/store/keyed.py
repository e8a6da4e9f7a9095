"""SQL shared by the tables whose rows are replaced by their natural key (contact policies, dunning ladders)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, delete, insert
from sqlalchemy.ext.asyncio import AsyncSession


async def replace_keyed_rows(
    session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]], *, key: tuple[str, ...]
) -> None:
    """Replace the stored rows of `table` that have the `key` columns' values of the rows given."""
    for row in rows:
        await session.execute(delete(table).where(*(table.c[k] == row[k] for k in key)))
    if rows:
        await session.execute(insert(table), list(rows))
