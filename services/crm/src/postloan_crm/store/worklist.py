"""SQL of the collector's worklist and of a case's interactions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.store.tables import interactions

# An agent's open cases with what the worklist weighs: balance due, PD, promises, the latest callback;
# `interactions` is 1 when the case was worked at all (the worklist needs no more than that); `risk_alert`
# says an open alert is on the case's loan or on its customer as a whole.
_CASES_OF = """
    SELECT c.case_id, c.loan_id, c.customer_id, c.queue, c.bucket, c.dpd, c.currency, c.opened_on,
           CASE WHEN coalesce(l.overdue, 0) > 0 THEN l.overdue ELSE c.overdue_amount END AS balance_due,
           r.pd,
           (SELECT min(p.promised_date) FROM promises p WHERE p.case_id = c.case_id AND p.status = 'open')
               AS promise_date,
           (SELECT max(p.resolved_on) FROM promises p WHERE p.case_id = c.case_id AND p.status = 'broken')
               AS last_broken_on,
           last.next_action_at AS callback_at,
           CASE WHEN last.occurred_at IS NULL THEN 0 ELSE 1 END AS interactions,
           EXISTS (
               SELECT 1 FROM risk_alerts a
               WHERE a.status = 'open'
                 AND (a.loan_id = c.loan_id OR (a.loan_id IS NULL AND a.customer_id = c.customer_id))
           ) AS risk_alert
    FROM cases c
    LEFT JOIN loans l ON l.loan_id = c.loan_id
    LEFT JOIN risk r ON r.loan_id = c.loan_id
    LEFT JOIN LATERAL (
        SELECT i.next_action_at, i.occurred_at FROM interactions i WHERE i.case_id = c.case_id
        ORDER BY i.occurred_at DESC, i.interaction_id DESC LIMIT 1
    ) AS last ON true
    WHERE c.status = 'open' AND c.assignee = :agent_id
"""


async def cases_of(session: AsyncSession, *, agent_id: str) -> list[dict[str, Any]]:
    """The agent's open cases with the facts the worklist ranks them by."""
    return [dict(r) for r in (await session.execute(text(_CASES_OF), {"agent_id": agent_id})).mappings()]


async def case_interactions(
    session: AsyncSession, *, case_id: str, after: tuple[datetime, str] | None, limit: int
) -> list[dict[str, Any]]:
    """At most limit+1 interactions of the case, newest first, after the (occurred_at, id) cursor."""
    query = (
        select(interactions)
        .where(interactions.c.case_id == case_id)
        .order_by(interactions.c.occurred_at.desc(), interactions.c.interaction_id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(tuple_(interactions.c.occurred_at, interactions.c.interaction_id) < tuple_(*after))
    return [dict(r) for r in (await session.execute(query)).mappings()]
