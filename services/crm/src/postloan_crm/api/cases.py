"""Collection cases: work lists, detail with timeline, supervisor assignment, promises to pay; agents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from postloan_common.audit import changes
from postloan_common.web import CorrelationId, CurrentPrincipal, DbSession, ProblemError, require_roles
from postloan_common.web.openapi import Page, problems
from postloan_crm.api.deps import (
    Caller,
    CaseReader,
    Cursor,
    CustomerFilter,
    Reader,
    WideLimit,
    caller_with,
    cursor_checked,
    visible_case,
)
from postloan_crm.api.present import plain
from postloan_crm.api.responses import AgentOut, CaseDetailOut, CaseOut, PromiseOut
from postloan_crm.api.schemas import NO_NUL, AgentIn, AssignIn, PromiseIn
from postloan_crm.service import audit, queries
from postloan_crm.service.calendar import current_business_date
from postloan_crm.service.cases import open_case, reassign
from postloan_crm.service.events import Trace
from postloan_crm.service.promises import make_promise
from postloan_crm.store import agents as agent_rows
from postloan_crm.store import cases as case_rows
from postloan_crm.store.access import visible_cases

router = APIRouter()
Supervisors = Depends(require_roles("supervisor", "admin"))
Supervisor = Annotated[Caller, Depends(caller_with("supervisor", "admin"))]
Agent = Annotated[Caller, Depends(caller_with("collector", "supervisor", "admin"))]
QUEUE = "^(watch|automated|phone|senior|field|recovery)$"


@router.get(
    "/cases",
    operation_id="listCases",
    tags=["cases"],
    response_model_exclude_unset=True,
    responses=problems(400, 401, 403, 422),
)
async def list_cases(
    session: DbSession,
    caller: CaseReader,
    status_: Annotated[str | None, Query(alias="status", pattern="^(open|closed)$")] = None,
    queue: Annotated[str | None, Query(pattern=QUEUE)] = None,
    assignee: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    customer_id: CustomerFilter = None,
    limit: WideLimit = 100,
    cursor: Cursor = None,
) -> Page[CaseOut]:
    """Cases by status, queue and assignee, ordered by case id."""
    with cursor_checked():
        items, next_cursor = await queries.list_cases(
            session,
            status=status_,
            queue=queue,
            assignee=assignee,
            customer_id=customer_id,
            limit=limit,
            cursor=cursor,
            visible=visible_cases(caller.scope),
        )
    return Page[CaseOut].model_validate({"items": plain(items), "next_cursor": next_cursor})


@router.get(
    "/cases/{case_id}",
    operation_id="getCase",
    tags=["cases"],
    response_model_exclude_unset=True,
    responses=problems(401, 403, 404),
)
async def get_case(case_id: str, session: DbSession, caller: CaseReader) -> CaseDetailOut:
    """A case with its timeline and promises."""
    await visible_case(session, case_id, scope=caller.scope)
    detail = await queries.case_detail(session, case_id)
    if detail is None:
        raise ProblemError(404, "Case not found", f"case {case_id} is not known")
    return CaseDetailOut.model_validate(plain(detail))


@router.post(
    "/cases/{case_id}/assign",
    operation_id="assignCase",
    tags=["cases"],
    response_model_exclude_unset=True,
    responses=problems(401, 403, 404, 409, 422),
)
async def assign_case(
    case_id: str, body: AssignIn, session: DbSession, caller: Supervisor, correlation_id: CorrelationId
) -> CaseDetailOut:
    """A supervisor gives an open case to an agent."""
    principal = caller.principal
    async with session.begin():
        await visible_case(session, case_id, scope=caller.scope)
        try:
            before = await reassign(session, case_id=case_id, agent_id=body.agent_id, actor=principal.subject)
        except LookupError as exc:
            raise ProblemError(404, "Not found", str(exc)) from exc
        except ValueError as exc:
            raise ProblemError(409, "Case closed", str(exc)) from exc
        await audit.record(
            session,
            actor=principal.subject,
            action="case.assign",
            subject=case_id,
            details={"agent_id": body.agent_id},
            correlation_id=correlation_id,
        )
        detail = await queries.case_detail(session, case_id)
    assert before is not None
    return CaseDetailOut.model_validate(plain(detail))


@router.post(
    "/cases/{case_id}/promises",
    status_code=status.HTTP_201_CREATED,
    operation_id="addPromise",
    tags=["cases"],
    response_model_exclude_unset=True,
    responses=problems(401, 403, 404, 409, 422),
)
async def add_promise(
    case_id: str, body: PromiseIn, session: DbSession, caller: Agent, correlation_id: CorrelationId
) -> PromiseOut:
    """Record a promise to pay on an open case."""
    principal = caller.principal
    async with session.begin():
        await visible_case(session, case_id, scope=caller.scope)
        row = await case_rows.load_case(session, case_id)
        if row is None:
            raise ProblemError(404, "Case not found", f"case {case_id} is not known")
        case = await open_case(session, row["loan_id"])
        if case is None or case["case_id"] != case_id:
            raise ProblemError(409, "Case closed", f"case {case_id} is {row['status']}")
        today = await current_business_date(session)
        if body.promised_date < today:
            raise ProblemError(
                422, "Invalid promise", f"promised_date {body.promised_date} is before the business date {today}"
            )
        promise = await make_promise(
            session,
            case=case,
            amount=body.amount,
            promised_date=body.promised_date,
            made_on=today,
            agent_id=principal.subject[:64],
            interaction_id=body.interaction_id,
            trace=Trace(business_date=today, correlation_id=correlation_id),
        )
        await audit.record(
            session,
            actor=principal.subject,
            action="promise.make",
            subject=case_id,
            details={"promise_id": promise["promise_id"], "amount": str(body.amount)},
            correlation_id=correlation_id,
        )
    return PromiseOut.model_validate(plain(promise))


@router.get(
    "/agents",
    operation_id="listAgents",
    tags=["agents"],
    response_model_exclude_unset=True,
    responses=problems(401, 403),
)
async def list_agents(session: DbSession, _: Reader) -> Page[AgentOut]:
    """Collection agents and their queues (one page: every agent)."""
    return Page[AgentOut].model_validate({"items": plain(await agent_rows.list_agents(session)), "next_cursor": None})


@router.put(
    "/agents/{agent_id}",
    dependencies=[Supervisors],
    operation_id="putAgent",
    tags=["agents"],
    response_model_exclude_unset=True,
    responses=problems(401, 403, 422),
)
async def put_agent(
    agent_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")],
    body: AgentIn,
    session: DbSession,
    principal: CurrentPrincipal,
    correlation_id: CorrelationId,
) -> AgentOut:
    """Create or change an agent: the queues they work and their capacity."""
    values = body.model_dump()
    async with session.begin():
        before = await agent_rows.agent_row(session, agent_id=agent_id)
        await agent_rows.put_agent(session, agent_id=agent_id, values=values)
        old = {k: before[k] for k in values} if before is not None else None
        await audit.record(
            session,
            actor=principal.subject,
            action="agent.put",
            subject=agent_id,
            details=values | {"changes": changes(old, values)},
            correlation_id=correlation_id,
        )
    return AgentOut.model_validate({"agent_id": agent_id, **values})
