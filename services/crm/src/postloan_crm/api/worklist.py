"""The collector's worklist and a case's interactions (issue 16 item 2)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from postloan_common.web import DbSession, ProblemError
from postloan_common.web.openapi import Page, problems
from postloan_crm.api.deps import Caller, Cursor, Limit, Now, Reader, caller_with, cursor_checked, visible_case
from postloan_crm.api.responses import InteractionFields
from postloan_crm.api.schemas import Id
from postloan_crm.domain.access import may_read_worklist
from postloan_crm.service import worklist as worklists

router = APIRouter(tags=["worklist"])
# A relationship manager works the watch cases that high risk alerts open for them.
Worker = Annotated[Caller, Depends(caller_with("collector", "relationship_manager", "supervisor", "admin"))]
Reason = Literal[
    "promise_due_today", "callback_due", "broken_promise", "new_case", "high_expected_recovery", "risk_alert"
]


class WorkItemOut(BaseModel):
    """One case of the worklist, in the order to work it."""

    case_id: str
    loan_id: str
    customer_id: str
    queue: str
    bucket: str
    dpd: int
    balance_due: Decimal
    currency: str
    priority: Decimal
    reasons: list[Reason]
    next_action_at: datetime | None


class InteractionOut(InteractionFields):
    """An interaction logged on a case."""

    occurred_at: datetime
    next_action_at: datetime | None


# What a work item shows of its case row as it is; the rest is the worklist's ranking.
_CASE_FIELDS = ("loan_id", "customer_id", "queue", "bucket", "dpd", "balance_due", "currency")


def _agent(caller: Caller, agent: str | None) -> str:
    """Whose worklist the caller may read: their own; a supervisor's team's; an admin's anyone's (else 403)."""
    wanted = agent or caller.principal.subject
    if may_read_worklist(caller.scope, subject=caller.principal.subject, agent=wanted):
        return wanted
    raise ProblemError(403, "Forbidden", f"the worklist of {agent} is not yours to read")


@router.get(
    "/worklist", response_model=Page[WorkItemOut], operation_id="getWorklist", responses=problems(401, 403, 422)
)
async def get_worklist(
    session: DbSession,
    caller: Worker,
    now: Now,
    agent: Annotated[Id | None, Query(description="A supervisor's team member (default: the caller)")] = None,
) -> Page[WorkItemOut]:
    """The agent's open cases in the order to work them: promises and callbacks due now, then expected recovery."""
    agent_id = _agent(caller, agent)
    async with session.begin():
        ranked = await worklists.agent_worklist(session, agent_id=agent_id, now=now)
    items = [
        WorkItemOut(
            **{k: row[k] for k in _CASE_FIELDS},
            case_id=item.case_id,
            priority=item.priority,
            reasons=list(item.reasons),
            next_action_at=item.next_action_at,
        )
        for item, row in ranked
    ]
    return Page[WorkItemOut](items=items, next_cursor=None)


@router.get(
    "/cases/{case_id}/interactions",
    response_model=Page[InteractionOut],
    operation_id="listCaseInteractions",
    responses=problems(400, 401, 403, 404, 422),
)
async def list_case_interactions(
    session: DbSession,
    caller: Reader,
    case_id: Annotated[str, Path(max_length=64)],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[InteractionOut]:
    """The interactions logged on the case, newest first."""
    async with session.begin():
        await visible_case(session, case_id, scope=caller.scope)
        with cursor_checked():
            rows, next_cursor = await worklists.case_interactions(session, case_id=case_id, limit=limit, cursor=cursor)
    items = [InteractionOut.model_validate({k: r[k] for k in InteractionOut.model_fields}) for r in rows]
    return Page[InteractionOut](items=items, next_cursor=next_cursor)
