"""SQL of dunning: stored ladders, the overdue open cases with what was planned for them, the stop checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.store.keyed import replace_keyed_rows
from postloan_crm.store.tables import dunning_ladders

# Open cases of overdue loans, with their arm's role (a hold-out control gets no dunning), whether a promise
# is active and the ladder steps already planned.
# The DPD floor is a parameter for the planner's sake: PostgreSQL keeps one generic plan for a prepared
# statement without parameters whatever plan_cache_mode says (docs/adr/0002-custom-plans.md), and the plan
# made when `communications` was empty scanned it once per case as it grew (the go-live day at 1M loans
# ran past the statement timeout).
_OVERDUE_CASES = """
    SELECT c.case_id, c.loan_id, c.customer_id, c.queue, c.bucket, c.experiment, c.experiment_version, c.arm,
           c.arm_role, l.dpd, l.as_of,
           CASE WHEN l.overdue > 0 THEN l.overdue ELSE c.overdue_amount END AS overdue, c.currency,
           l.status AS loan_status,
           EXISTS (SELECT 1 FROM promises p WHERE p.loan_id = c.loan_id AND p.status = 'open') AS promise_active,
           ARRAY(SELECT m.step FROM communications m
                 WHERE m.case_id = c.case_id AND m.kind = 'dunning' AND m.step IS NOT NULL) AS sent
    FROM cases c JOIN loans l ON l.loan_id = c.loan_id
    WHERE c.status = 'open' AND l.dpd > :past_due_from
    ORDER BY c.case_id
"""
_LOAN_STOP = """
    SELECT l.status AS loan_status, l.dpd,
           EXISTS (SELECT 1 FROM promises p WHERE p.loan_id = l.loan_id AND p.status = 'open') AS promise_active
    FROM loans l WHERE l.loan_id = :loan_id
"""


async def ladder_rows(session: AsyncSession) -> list[dict[str, Any]]:
    """The stored ladders."""
    query = select(dunning_ladders).order_by(dunning_ladders.c.queue, dunning_ladders.c.bucket)
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def replace_ladder_rows(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Replace the stored ladders of the rows' (queue, bucket) pairs."""
    await replace_keyed_rows(session, dunning_ladders, rows, key=("queue", "bucket"))


async def overdue_cases(session: AsyncSession) -> list[dict[str, Any]]:
    """Open cases of loans with money overdue, each with its loan's state, promise flag and planned steps."""
    rows = await session.execute(text(_OVERDUE_CASES), {"past_due_from": 0})
    return [dict(r) for r in rows.mappings()]


async def loan_stop_state(session: AsyncSession, loan_id: str) -> dict[str, Any] | None:
    """The loan's status, DPD and whether a promise is active, or None when unknown."""
    row = (await session.execute(text(_LOAN_STOP), {"loan_id": loan_id})).mappings().first()
    return dict(row) if row else None
