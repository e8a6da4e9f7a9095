"""SQL of the API's read models: lists with cursors, case detail, the customer 360."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.store.tables import (
    care_touchpoints,
    case_events,
    cases,
    communications,
    interactions,
    loans,
    promises,
    risk,
    tickets,
)


class BadCursor(ValueError):
    """The cursor was not made by this API."""


def encode_cursor(*values: Any) -> str:
    """An opaque cursor of the last row's sort key."""
    return base64.urlsafe_b64encode(json.dumps([str(v) for v in values]).encode()).decode()


def decode_cursor(cursor: str, size: int) -> list[str]:
    """The sort key in `cursor`; raises BadCursor."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError as exc:
        raise BadCursor("the cursor is not valid") from exc
    # A NUL would reach PostgreSQL, which refuses it in text.
    if (
        not isinstance(values, list)
        or len(values) != size
        or not all(isinstance(v, str) and "\x00" not in v for v in values)
    ):
        raise BadCursor("the cursor is not valid")
    return values


async def page(session: AsyncSession, query: Select[Any], *, limit: int) -> list[dict[str, Any]]:
    """At most limit+1 rows, so the caller knows whether there is a next page."""
    return [dict(r) for r in (await session.execute(query.limit(limit + 1))).mappings()]


def split_page(rows: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The first `limit` of the limit+1 rows read, and the last of them when a next page follows (else None)."""
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1]
    return rows, None


async def id_page(
    session: AsyncSession, query: Select[Any], key: ColumnElement[str], *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of `query` (ordered by the id column `key`) after the cursor's id, and the next page's cursor."""
    if cursor:
        (after,) = decode_cursor(cursor, 1)
        query = query.where(key > after)
    rows, last = split_page(await page(session, query, limit=limit), limit)
    return rows, encode_cursor(last[key.name]) if last else None


def _where_given(query: Select[Any], table: Table, **filters: str | None) -> Select[Any]:
    """`query` narrowed to `table`'s column == value for each filter given (empty ones are ignored)."""
    for column, value in filters.items():
        if value:
            query = query.where(table.c[column] == value)
    return query


async def list_cases(
    session: AsyncSession,
    *,
    status: str | None,
    queue: str | None,
    assignee: str | None,
    customer_id: str | None,
    limit: int,
    cursor: str | None,
    visible: ColumnElement[bool],
) -> tuple[list[dict[str, Any]], str | None]:
    """Cases filtered (to those `visible` to the caller) and ordered by id, one page at a time."""
    query = select(cases).where(visible).order_by(cases.c.case_id)
    query = _where_given(query, cases, status=status, queue=queue, assignee=assignee, customer_id=customer_id)
    return await id_page(session, query, cases.c.case_id, limit=limit, cursor=cursor)


async def case_detail(session: AsyncSession, case_id: str) -> dict[str, Any] | None:
    """A case with its timeline and promises."""
    row = (await session.execute(select(cases).where(cases.c.case_id == case_id))).mappings().first()
    if row is None:
        return None
    entry = [case_events.c[k] for k in ("at", "business_date", "kind", "actor", "details")]
    timeline = (
        await session.execute(select(*entry).where(case_events.c.case_id == case_id).order_by(case_events.c.id))
    ).mappings()
    promise_rows = (
        await session.execute(select(promises).where(promises.c.case_id == case_id).order_by(promises.c.created_at))
    ).mappings()
    return dict(row) | {"timeline": [dict(t) for t in timeline], "promises": [dict(p) for p in promise_rows]}


async def list_communications(
    session: AsyncSession, *, customer_id: str, status: str | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A customer's communications, newest first."""
    query = (
        select(communications)
        .where(communications.c.customer_id == customer_id)
        .order_by(communications.c.created_at.desc(), communications.c.communication_id.desc())
    )
    if status:
        query = query.where(communications.c.status == status)
    if cursor:
        created_text, cid = decode_cursor(cursor, 2)
        try:
            created = datetime.fromisoformat(created_text)
        except ValueError as exc:
            raise BadCursor("the cursor is not valid") from exc
        query = query.where(
            or_(
                communications.c.created_at < created,
                and_(communications.c.created_at == created, communications.c.communication_id < cid),
            )
        )
    rows, last = split_page(await page(session, query, limit=limit), limit)
    return rows, encode_cursor(last["created_at"].isoformat(), last["communication_id"]) if last else None


async def list_tickets(
    session: AsyncSession,
    *,
    status: str | None,
    kind: str | None,
    owner: str | None,
    customer_id: str | None,
    limit: int,
    cursor: str | None,
    visible: ColumnElement[bool],
) -> tuple[list[dict[str, Any]], str | None]:
    """Tickets filtered (to those `visible` to the caller), ordered by id."""
    query = select(tickets).where(visible).order_by(tickets.c.ticket_id)
    query = _where_given(query, tickets, status=status, kind=kind, owner=owner, customer_id=customer_id)
    return await id_page(session, query, tickets.c.ticket_id, limit=limit, cursor=cursor)


async def overview(session: AsyncSession, customer_id: str, *, recent: int = 20) -> dict[str, Any]:
    """Everything crm knows around a customer, except the profile itself."""
    loan_rows = [
        dict(r)
        for r in (
            await session.execute(select(loans).where(loans.c.customer_id == customer_id).order_by(loans.c.loan_id))
        ).mappings()
    ]
    risk_rows = {
        r["loan_id"]: dict(r)
        for r in (await session.execute(select(risk).where(risk.c.customer_id == customer_id))).mappings()
    }
    for loan in loan_rows:
        loan["risk"] = risk_rows.get(loan["loan_id"])
    open_cases = [
        dict(r)
        for r in (
            await session.execute(
                select(cases)
                .where(cases.c.customer_id == customer_id, cases.c.status == "open")
                .order_by(cases.c.case_id)
            )
        ).mappings()
    ]
    recent_interactions = [
        dict(r)
        for r in (
            await session.execute(
                select(interactions)
                .where(interactions.c.customer_id == customer_id)
                .order_by(interactions.c.occurred_at.desc())
                .limit(recent)
            )
        ).mappings()
    ]
    recent_communications, _ = await list_communications(
        session, customer_id=customer_id, status=None, limit=recent, cursor=None
    )
    open_promises = [
        dict(r)
        for r in (
            await session.execute(
                select(promises).where(promises.c.customer_id == customer_id, promises.c.status == "open")
            )
        ).mappings()
    ]
    touchpoints = [
        dict(r)
        for r in (
            await session.execute(
                select(care_touchpoints)
                .where(care_touchpoints.c.customer_id == customer_id, care_touchpoints.c.status == "planned")
                .order_by(care_touchpoints.c.due_on)
            )
        ).mappings()
    ]
    open_tickets, _ = await list_tickets(
        session, status=None, kind=None, owner=None, customer_id=customer_id, limit=recent, cursor=None, visible=true()
    )
    latest_risk = max(risk_rows.values(), key=lambda r: r["updated_at"], default=None)
    return {
        "loans": loan_rows,
        "latest_risk": latest_risk,
        "open_case": open_cases[0] if open_cases else None,
        "open_cases": open_cases,
        "open_promises": open_promises,
        "recent_interactions": recent_interactions,
        "recent_communications": recent_communications,
        "care_touchpoints": touchpoints,
        "tickets": [t for t in open_tickets if t["status"] in ("open", "in_progress")],
    }
