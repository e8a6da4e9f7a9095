"""A throwaway database for one suite: the dev stack, a fresh database on it, dropped and stopped after."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date

import asyncpg

from postloan_common.db import drop_database, ensure_database, with_database
from postloan_common.migrations import service_dir, upgrade
from postloan_dev.devstack import DevStack, start_devstack


@contextlib.asynccontextmanager
async def scratch_database(prefix: str, *, package: str | None = None) -> AsyncIterator[tuple[DevStack, str]]:
    """(stack, database URL) of a new database named `prefix_…`, migrated for `package` when one is named."""
    stack = start_devstack()
    db = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        await ensure_database(stack.postgres_url, db)
        url = with_database(stack.postgres_url, db)
        if package is not None:
            # Migrating blocks; keep it off the event loop.
            await asyncio.to_thread(upgrade, service_dir(package), url)
        yield stack, url
    finally:
        await drop_database(stack.postgres_url, db)
        stack.stop()


async def fill_tables(
    conn: asyncpg.Connection,
    tables: Mapping[str, tuple[Sequence[tuple], Sequence[str]]],
    *,
    business_date: date,
) -> None:
    """COPY each table's (rows, columns), set the service's business date, then ANALYZE as production would."""
    async with conn.transaction():
        for table, (rows, columns) in tables.items():
            await conn.copy_records_to_table(table, records=rows, columns=columns)
        await conn.execute(
            "INSERT INTO business_calendar (id, business_date) VALUES (1, $1) "
            "ON CONFLICT (id) DO UPDATE SET business_date = excluded.business_date",
            business_date,
        )
    await conn.execute("ANALYZE")
