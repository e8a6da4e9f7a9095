"""The collector's worklist and a case's interactions, for the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.domain.worklist import CaseFacts, WorkItem, worklist
from postloan_crm.service.calendar import current_business_date
from postloan_crm.store import worklist as worklist_rows
from postloan_crm.store.queries import BadCursor, decode_cursor, encode_cursor, split_page

# The facts of a case the worklist query gives as they are (its counts come as numbers to convert).
_AS_READ = ("case_id", "bucket", "balance_due", "pd", "opened_on", "promise_date", "last_broken_on", "callback_at")


async def agent_worklist(
    session: AsyncSession, *, agent_id: str, now: datetime
) -> list[tuple[WorkItem, dict[str, Any]]]:
    """The agent's open cases in the order to work them, each with its case row."""
    rows = {r["case_id"]: r for r in await worklist_rows.cases_of(session, agent_id=agent_id)}
    today = await current_business_date(session)
    facts = [
        CaseFacts(**{k: r[k] for k in _AS_READ}, interactions=int(r["interactions"]), risk_alert=bool(r["risk_alert"]))
        for r in rows.values()
    ]
    return [(item, rows[item.case_id]) for item in worklist(facts, today=today, now=now)]


async def case_interactions(
    session: AsyncSession, *, case_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """The case's interactions, newest first, one page at a time; raises BadCursor."""
    after = None
    if cursor:
        at, interaction_id = decode_cursor(cursor, 2)
        try:
            after = (datetime.fromisoformat(at), interaction_id)
        except ValueError as exc:
            raise BadCursor("the cursor is not valid") from exc
    rows = await worklist_rows.case_interactions(session, case_id=case_id, after=after, limit=limit)
    rows, last = split_page(rows, limit)
    return rows, encode_cursor(last["occurred_at"].isoformat(), last["interaction_id"]) if last else None
