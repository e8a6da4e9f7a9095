"""SQL of collection cases: batch reads and writes of the open cases, agents' loads, the timeline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.store.tables import agents, case_events, cases

OPEN = "open"

_OPEN_CASES = """
    SELECT c.case_id, c.loan_id, c.customer_id, c.queue, c.bucket, c.dpd, c.overdue_amount, c.currency, c.assignee,
           c.opened_on, c.amount_collected, c.experiment, c.experiment_version, c.arm, c.arm_role
    FROM unnest(CAST(:loan_ids AS text[])) AS k(loan_id) JOIN cases c ON c.loan_id = k.loan_id
    WHERE c.status = 'open'
    ORDER BY c.loan_id
    FOR UPDATE OF c
"""
_RISKS = """
    SELECT r.loan_id, r.pd, r.classification
    FROM unnest(CAST(:loan_ids AS text[])) AS k(loan_id) JOIN risk r ON r.loan_id = k.loan_id
"""
# Locking the agents serialises concurrent assignments so the balance holds.
_AGENTS = """
    SELECT a.agent_id, a.capacity, a.queues,
           (SELECT count(*) FROM cases c WHERE c.assignee = a.agent_id AND c.status = 'open') AS open_cases
    FROM agents a
    WHERE a.active
    ORDER BY a.agent_id
    FOR UPDATE OF a
"""
_UPDATE_CASES = """
    UPDATE cases AS c
    SET status = u.status, queue = u.queue, bucket = u.bucket, dpd = u.dpd, overdue_amount = u.overdue_amount,
        assignee = u.assignee, closed_on = u.closed_on, close_reason = u.close_reason,
        amount_collected = u.amount_collected, updated_at = now()
    FROM unnest(CAST(:case_id AS text[]), CAST(:status AS text[]), CAST(:queue AS text[]), CAST(:bucket AS text[]),
                CAST(:dpd AS int[]), CAST(:overdue_amount AS numeric[]), CAST(:assignee AS text[]),
                CAST(:closed_on AS date[]), CAST(:close_reason AS text[]), CAST(:amount_collected AS numeric[]))
         AS u(case_id, status, queue, bucket, dpd, overdue_amount, assignee, closed_on, close_reason, amount_collected)
    WHERE c.case_id = u.case_id
"""
_CHANGED_COLUMNS = (
    "case_id",
    "status",
    "queue",
    "bucket",
    "dpd",
    "overdue_amount",
    "assignee",
    "closed_on",
    "close_reason",
    "amount_collected",
)


async def lock_open_cases(session: AsyncSession, loan_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The open cases of `loan_ids`, locked, in loan order."""
    if not loan_ids:
        return []
    return [dict(r) for r in (await session.execute(text(_OPEN_CASES), {"loan_ids": list(loan_ids)})).mappings()]


async def risk_views(session: AsyncSession, loan_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The latest pd and classification of `loan_ids`."""
    if not loan_ids:
        return []
    return [dict(r) for r in (await session.execute(text(_RISKS), {"loan_ids": list(loan_ids)})).mappings()]


async def agent_loads(session: AsyncSession) -> list[dict[str, Any]]:
    """The active agents, locked, with their queues, capacity and open cases."""
    return [dict(r) for r in (await session.execute(text(_AGENTS))).mappings()]


async def update_cases(session: AsyncSession, changed: Sequence[Any]) -> None:
    """Write back the changed fields of existing cases (objects with the case columns as attributes)."""
    if changed:
        await session.execute(
            text(_UPDATE_CASES), {name: [getattr(c, name) for c in changed] for name in _CHANGED_COLUMNS}
        )


async def insert_cases(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert newly opened cases."""
    if rows:
        await session.execute(insert(cases), list(rows))


async def add_timeline(
    session: AsyncSession,
    *,
    case_id: str,
    kind: str,
    details: dict[str, Any],
    business_date: date | None = None,
    actor: str | None = None,
) -> None:
    """Append an entry to the case's timeline."""
    await session.execute(
        insert(case_events).values(
            case_id=case_id, kind=kind, details=details, business_date=business_date, actor=actor or "crm"
        )
    )


async def add_timeline_rows(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append many timeline entries at once, in their order."""
    if rows:
        await session.execute(insert(case_events), list(rows))


async def open_case(session: AsyncSession, loan_id: str, *, lock: bool = True) -> dict[str, Any] | None:
    """The loan's open case, locked for update by default."""
    query = select(cases).where(cases.c.loan_id == loan_id, cases.c.status == OPEN)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def load_case(session: AsyncSession, case_id: str) -> dict[str, Any] | None:
    """The case's row."""
    row = (await session.execute(select(cases).where(cases.c.case_id == case_id))).mappings().first()
    return dict(row) if row else None


async def lock_case(session: AsyncSession, case_id: str) -> dict[str, Any] | None:
    """The case, locked for update."""
    row = (await session.execute(select(cases).where(cases.c.case_id == case_id).with_for_update())).mappings().first()
    return dict(row) if row else None


async def load_agent(session: AsyncSession, agent_id: str) -> dict[str, Any] | None:
    """The agent's row."""
    row = (await session.execute(select(agents).where(agents.c.agent_id == agent_id))).mappings().first()
    return dict(row) if row else None


async def set_assignee(session: AsyncSession, *, case_id: str, agent_id: str) -> None:
    """Give the case to `agent_id`."""
    await session.execute(
        update(cases).where(cases.c.case_id == case_id).values(assignee=agent_id, updated_at=func.now())
    )
