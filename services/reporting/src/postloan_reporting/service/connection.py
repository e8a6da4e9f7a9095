"""The session's asyncpg connection for array-bound statements, inside the session's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.db import driver_connection


async def transaction_connection(session: AsyncSession) -> Any:
    """`driver_connection(session)` with the session's transaction begun on it.

    SQLAlchemy's asyncpg dialect sends BEGIN with the first statement it runs itself: statements
    run on the raw connection before that would each commit on their own.
    """
    connection = await driver_connection(session)
    if not connection.is_in_transaction():
        await session.execute(text("SELECT"))
    return connection
