"""SQL of collection strategies: every version kept, the current one the highest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.store.strategy_tables import strategies

_COLUMNS = (
    strategies.c.strategy_id,
    strategies.c.version,
    strategies.c.salt,
    strategies.c.arms,
    strategies.c.ladders,
    strategies.c.queues,
    strategies.c.active,
    strategies.c.created_by,
    strategies.c.created_at,
)
# The current version of every strategy.
_CURRENT = """
    SELECT DISTINCT ON (strategy_id) strategy_id, version, salt, arms, queues, active
    FROM strategies
    ORDER BY strategy_id, version DESC
"""


async def lock_latest(session: AsyncSession, strategy_id: str) -> dict[str, Any] | None:
    """The current version of the strategy, after taking its transaction lock (two PUTs make two versions)."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"strategy:{strategy_id}"))))
    return await latest(session, strategy_id)


async def latest(session: AsyncSession, strategy_id: str) -> dict[str, Any] | None:
    """The current (highest) version of the strategy, or None when it is not known."""
    query = (
        select(*_COLUMNS).where(strategies.c.strategy_id == strategy_id).order_by(strategies.c.version.desc()).limit(1)
    )
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def add_version(session: AsyncSession, row: Mapping[str, Any]) -> dict[str, Any]:
    """Insert a version of a strategy; return it as stored."""
    stored = (await session.execute(insert(strategies).values(**row).returning(*_COLUMNS))).mappings().one()
    return dict(stored)


async def versions(session: AsyncSession, strategy_id: str) -> list[dict[str, Any]]:
    """Every version of the strategy, newest first."""
    query = select(*_COLUMNS).where(strategies.c.strategy_id == strategy_id).order_by(strategies.c.version.desc())
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def versions_with_ladders(session: AsyncSession) -> list[dict[str, Any]]:
    """Every version of any strategy that defines dunning ladders (its arms may use them)."""
    query = select(*_COLUMNS).where(func.jsonb_array_length(strategies.c.ladders) > 0)
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def current_versions(session: AsyncSession) -> list[dict[str, Any]]:
    """The current version of every strategy, by strategy id."""
    return [dict(r) for r in (await session.execute(text(_CURRENT))).mappings()]
