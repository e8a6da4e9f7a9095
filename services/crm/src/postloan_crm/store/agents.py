"""SQL of collection agents: the roster and its upsert."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.store.tables import agents


async def list_agents(session: AsyncSession) -> list[dict[str, Any]]:
    """Every agent, by id."""
    return [dict(r) for r in (await session.execute(select(agents).order_by(agents.c.agent_id))).mappings()]


async def put_agent(session: AsyncSession, *, agent_id: str, values: dict[str, Any]) -> None:
    """Create the agent or replace the fields given."""
    stmt = pg_insert(agents).values(agent_id=agent_id, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=[agents.c.agent_id], set_=values))


async def agent_row(session: AsyncSession, *, agent_id: str) -> dict[str, Any] | None:
    """The agent's fields (without the id) locked for an update, or None."""
    stmt = select(agents).where(agents.c.agent_id == agent_id).with_for_update()
    row = (await session.execute(stmt)).mappings().first()
    return {k: v for k, v in row.items() if k != "agent_id"} if row is not None else None
