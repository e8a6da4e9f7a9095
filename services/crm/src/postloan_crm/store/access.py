"""SQL of the read scope: which cases and customers a caller's CaseScope lets them see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.domain.access import CaseScope
from postloan_crm.store.placements import placed_with
from postloan_crm.store.tables import agents, cases, customers, tickets


async def team_members(session: AsyncSession, *, agent_id: str) -> list[str]:
    """The agents sharing a team with `agent_id` (none when it has no team)."""
    teams = select(agents.c.team).where(agents.c.agent_id == agent_id, agents.c.team.is_not(None))
    return list((await session.scalars(select(agents.c.agent_id).where(agents.c.team.in_(teams)))).all())


def visible_cases(scope: CaseScope | None) -> ColumnElement[bool]:
    """A WHERE clause on `cases` admitting the cases in scope."""
    if scope is None:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if scope.assignees:
        clauses.append(cases.c.assignee.in_(sorted(scope.assignees)))
    if scope.unassigned:
        clauses.append(cases.c.assignee.is_(None))
    if scope.agency is not None:
        clauses.append(placed_with(scope.agency, cases.c.case_id))
    return or_(*clauses) if clauses else false()


def visible_customer(column: Any, scope: CaseScope | None) -> ColumnElement[bool]:
    """A WHERE clause admitting rows whose customer id `column` belongs to a case in scope."""
    if scope is None:
        return true()
    return column.in_(select(cases.c.customer_id).where(visible_cases(scope)))


async def case_visible(session: AsyncSession, *, case_id: str, scope: CaseScope | None) -> bool:
    """Whether the case exists and is in scope."""
    query = select(cases.c.case_id).where(cases.c.case_id == case_id, visible_cases(scope))
    return (await session.scalar(query)) is not None


async def customer_visible(session: AsyncSession, *, customer_id: str, scope: CaseScope | None) -> bool:
    """Whether a case of the customer is in scope (existence is checked by the caller)."""
    if scope is None:
        return True
    query = select(cases.c.case_id).where(cases.c.customer_id == customer_id, visible_cases(scope)).limit(1)
    return (await session.scalar(query)) is not None


async def visible_customer_ids(
    session: AsyncSession, *, scope: CaseScope | None, after: str | None, limit: int
) -> list[str]:
    """At most limit+1 customer ids in scope after `after`, in id order (the extra one says a next page exists)."""
    query = (
        select(customers.c.customer_id)
        .where(visible_customer(customers.c.customer_id, scope))
        .order_by(customers.c.customer_id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(customers.c.customer_id > after)
    return list((await session.scalars(query)).all())


async def ticket_visible(session: AsyncSession, *, ticket_id: str, scope: CaseScope | None) -> bool:
    """Whether the ticket exists and its customer is in scope."""
    query = select(tickets.c.ticket_id).where(
        tickets.c.ticket_id == ticket_id, visible_customer(tickets.c.customer_id, scope)
    )
    return (await session.scalar(query)) is not None
