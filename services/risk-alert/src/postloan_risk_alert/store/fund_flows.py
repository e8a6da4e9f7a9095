"""Fund-flow SQL: loan terms and purposes, flow rows, their running totals, fund-use policies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_risk_alert.store.tables import fund_use_policies, loan_purposes

# One statement per chunk, its values as one array per column: compiled once, whatever the chunk size.
_FLOW_COLUMNS = (
    ("flow_id", "text"),
    ("loan_id", "text"),
    ("occurred_on", "date"),
    ("direction", "text"),
    ("amount", "numeric"),
    ("currency", "text"),
    ("counterparty_name", "text"),
    ("counterparty_account", "text"),
    ("counterparty_bank", "text"),
    ("counterparty_kind", "text"),
    ("category", "text"),
    ("channel", "text"),
    ("content_hash", "text"),
)
# The totals are added from what the INSERT returns, in the same statement: one round trip, and
# the flows just written are not read back. Grouped rows are upserted in key order (no deadlock
# between two batches touching the same loans).
_INSERT_FLOWS = text(
    "WITH inserted AS ("
    f"INSERT INTO fund_flows ({', '.join(c for c, _ in _FLOW_COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'CAST(:{c} AS {t}[])' for c, t in _FLOW_COLUMNS)}) "
    "ON CONFLICT (flow_id) DO NOTHING "
    "RETURNING flow_id, loan_id, direction, counterparty_kind, category, amount"
    "), added AS ("
    "INSERT INTO fund_flow_totals AS t (loan_id, direction, counterparty_kind, category, amount, flows) "
    "SELECT loan_id, direction, counterparty_kind, coalesce(category, ''), sum(amount), count(*) FROM inserted "
    "GROUP BY loan_id, direction, counterparty_kind, coalesce(category, '') ORDER BY 1, 2, 3, 4 "
    "ON CONFLICT (loan_id, direction, counterparty_kind, category) "
    "DO UPDATE SET amount = t.amount + excluded.amount, flows = t.flows + excluded.flows"
    # The ids inserted as one array value: one row to fetch, not one per flow.
    ") SELECT coalesce(array_agg(flow_id), '{}') FROM inserted"
)


# Key lists as one array parameter: an IN list of a thousand ids costs more to compile than to run.
_FLOW_HASHES = text("SELECT flow_id, content_hash FROM fund_flows WHERE flow_id = ANY(CAST(:ids AS text[]))")


async def flow_hashes(session: AsyncSession, flow_ids: Iterable[str]) -> dict[str, str]:
    """The content hash of each stored flow among `flow_ids`."""
    rows = await session.execute(_FLOW_HASHES, {"ids": sorted(set(flow_ids))})
    return {r.flow_id: r.content_hash for r in rows}


async def insert_flows(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert flow rows not stored yet and add them to the totals; return the ids inserted."""
    if not rows:
        return set()
    columns = {c: [r[c] for r in rows] for c, _ in _FLOW_COLUMNS}
    return set((await session.execute(_INSERT_FLOWS, columns)).scalar_one())


async def insert_purposes(session: AsyncSession, rows: Sequence[dict[str, str]]) -> None:
    """Record the purposes of newly registered loans; a redelivered registration changes nothing."""
    if rows:
        await session.execute(pg_insert(loan_purposes).on_conflict_do_nothing(), list(rows))


async def select_policy(session: AsyncSession, purpose: str) -> dict[str, Any] | None:
    """The stored policy row of a purpose, or None."""
    row = (await session.execute(select(fund_use_policies).where(fund_use_policies.c.purpose == purpose))).first()
    return dict(row._mapping) if row is not None else None


async def upsert_policy(session: AsyncSession, *, purpose: str, policy: dict[str, Any], actor: str) -> dict[str, Any]:
    """Store a purpose's policy, its version one up; return the row."""
    statement = pg_insert(fund_use_policies).values(purpose=purpose, policy=policy, version=1, updated_by=actor)
    upsert = statement.on_conflict_do_update(
        index_elements=[fund_use_policies.c.purpose],
        set_={
            "policy": statement.excluded.policy,
            "version": fund_use_policies.c.version + 1,
            "updated_by": statement.excluded.updated_by,
            "updated_at": text("now()"),
        },
    ).returning(*fund_use_policies.c)
    return dict((await session.execute(upsert)).one()._mapping)
