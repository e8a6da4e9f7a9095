"""COPY into a table over the session's asyncpg connection (postloan_common.db.driver_connection)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


async def copy_rows(raw: Any, table: str, columns: Sequence[str], records: Iterable[Sequence[Any]]) -> int:
    """COPY `records` into `table`; return how many."""
    batch = list(records)
    if batch:
        await raw.copy_records_to_table(table, records=batch, columns=list(columns))
    return len(batch)
