"""The asyncpg connection under a SQLAlchemy session, for COPY and set-based statements at volume."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


async def raw_connection(session: AsyncSession) -> Any:
    """The asyncpg connection of the session's current transaction."""
    connection = await session.connection()
    dbapi = await connection.get_raw_connection()
    return dbapi.driver_connection


async def copy_rows(raw: Any, table: str, columns: Sequence[str], records: Iterable[Sequence[Any]]) -> int:
    """COPY `records` into `table`; return how many."""
    batch = list(records)
    if batch:
        await raw.copy_records_to_table(table, records=batch, columns=list(columns))
    return len(batch)
