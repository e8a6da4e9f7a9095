"""SQL of the connector: id mappings and per-type counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_fineract_connector.store.tables import event_counts, id_map


@dataclass(frozen=True)
class TypeCount:
    event_type: str
    outcome: str
    count: int
    last_seen_at: datetime


async def add_id_mappings(session: AsyncSession, rows: Iterable[Mapping[str, object]]) -> None:
    """Record postloan ↔ Fineract ids; an id already known keeps its first sighting."""
    batch = list({row["postloan_id"]: dict(row) for row in rows}.values())
    if batch:
        await session.execute(insert(id_map).on_conflict_do_nothing(), batch)


async def bump_counts(session: AsyncSession, counts: Mapping[tuple[str, str], int]) -> None:
    """Add `counts` per (Fineract event type, outcome)."""
    if not counts:
        return
    # Sorted, so concurrent batches take the row locks in one order and cannot deadlock.
    rows = [{"event_type": t[:100], "outcome": o, "count": n} for (t, o), n in sorted(counts.items())]
    stmt = insert(event_counts)
    stmt = stmt.on_conflict_do_update(
        index_elements=[event_counts.c.event_type, event_counts.c.outcome],
        set_={"count": event_counts.c.count + stmt.excluded.count, "last_seen_at": func.now()},
    )
    await session.execute(stmt, rows)


async def type_counts(session: AsyncSession) -> list[TypeCount]:
    """Every (type, outcome) count, busiest first."""
    result = await session.execute(
        select(event_counts).order_by(event_counts.c.count.desc(), event_counts.c.event_type)
    )
    return [TypeCount(r.event_type, r.outcome, r._mapping["count"], r.last_seen_at) for r in result]


async def mapped_ids(session: AsyncSession) -> dict[str, int]:
    """How many ids of each kind (loan, customer) the connector has mapped."""
    result = await session.execute(select(id_map.c.kind, func.count()).group_by(id_map.c.kind))
    return {kind: count for kind, count in result.all()}
