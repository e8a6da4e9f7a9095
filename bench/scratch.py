"""A throwaway database for one suite: the dev stack, a fresh database on it, dropped and stopped after."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

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
