"""Contact policy and service tickets."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status

from postloan_common.audit import changes
from postloan_common.web import CorrelationId, CurrentPrincipal, DbSession, ProblemError, require_roles
from postloan_common.web.openapi import Page, problems
from postloan_crm.api.deps import (
    Caller,
    Cursor,
    CustomerFilter,
    Now,
    Reader,
    ServiceConfig,
    WideLimit,
    caller_with,
    cursor_checked,
    existing_customer,
)
from postloan_crm.api.present import plain
from postloan_crm.api.responses import ContactPolicyOut, TicketOut, TouchpointOut
from postloan_crm.api.schemas import NO_NUL, PolicyPut, TicketIn, TicketPatch, TouchpointPatch
from postloan_crm.domain.access import POLICY_OWNERS
from postloan_crm.domain.contact_policy import ContactPolicy
from postloan_crm.domain.dunning import DunningStep, Ladder
from postloan_crm.service import audit, queries
from postloan_crm.service.dunning import load_ladders, replace_ladders
from postloan_crm.service.policies import load_policies, policy_of, policy_values, replace_policies
from postloan_crm.service.tickets import change_ticket, open_ticket, overdue
from postloan_crm.store import care as care_rows
from postloan_crm.store.access import ticket_visible, visible_customer
from postloan_crm.store.tables import tickets

router = APIRouter()
PolicyAdmins = Depends(require_roles(*POLICY_OWNERS))
STAFF = ("system", "collector", "supervisor", "admin")
Staff = Annotated[Caller, Depends(caller_with(*STAFF))]


def _policy_view(policy: ContactPolicy) -> dict[str, Any]:
    return plain(policy_values(policy))


def _ladder_view(ladder: Ladder) -> dict[str, Any]:
    steps = [{"dpd": s.dpd, "channel": s.channel, "template": s.template} for s in sorted(ladder.steps, key=_dpd)]
    return {"queue": ladder.queue, "bucket": ladder.bucket, "steps": steps}


def _dpd(step: DunningStep) -> int:
    return step.dpd


async def _policy_body(session: Any) -> ContactPolicyOut:
    return ContactPolicyOut.model_validate(
        {
            "policies": [_policy_view(p) for p in await load_policies(session)],
            "ladders": [_ladder_view(ladder) for ladder in await load_ladders(session)],
        }
    )


@router.get("/contact-policy", tags=["contact-policy"], operation_id="getContactPolicy", responses=problems(401, 403))
async def get_policy(session: DbSession, _: Reader) -> ContactPolicyOut:
    """The contact rules and dunning ladders in force (the defaults of docs/domain.md unless changed)."""
    return await _policy_body(session)


@router.put(
    "/contact-policy",
    tags=["contact-policy"],
    dependencies=[PolicyAdmins],
    operation_id="putContactPolicy",
    responses=problems(401, 403, 422),
)
async def put_policy(
    body: PolicyPut, session: DbSession, principal: CurrentPrincipal, correlation_id: CorrelationId
) -> ContactPolicyOut:
    """Change the rules of the (jurisdiction, channel) pairs given; the others stay."""
    policies = []
    for p in body.policies:
        if (p.quiet_start is None) != (p.quiet_end is None):
            raise ProblemError(422, "Invalid policy", "give both quiet_start and quiet_end, or neither")
        policies.append(policy_of(p.model_dump() | {"channel": p.channel.value}))
    ladders = [
        Ladder(x.queue, x.bucket, tuple(DunningStep(s.dpd, s.channel, s.template) for s in x.steps))
        for x in body.ladders
    ]
    async with session.begin():
        before = await _policy_body(session)
        await replace_policies(session, policies=policies, actor=principal.subject)
        await replace_ladders(session, ladders=ladders, actor=principal.subject)
        after = await _policy_body(session)
        await audit.record(
            session,
            actor=principal.subject,
            action="contact-policy.put",
            subject="contact-policy",
            details={
                "policies": [_policy_view(p) for p in policies],
                "ladders": [_ladder_view(x) for x in ladders],
                "changes": changes(_keyed(before), _keyed(after)),
            },
            correlation_id=correlation_id,
        )
        return after


def _keyed(body: ContactPolicyOut) -> dict[str, Any]:
    """The rules by `policy:<jurisdiction>/<channel>` and `ladder:<queue>/<bucket>`, so a diff names what changed."""
    view = body.model_dump(mode="json")
    policies = {f"policy:{p['jurisdiction']}/{p['channel']}": p for p in view["policies"]}
    return policies | {f"ladder:{x['queue']}/{x['bucket']}": x for x in view["ladders"]}


async def _visible_ticket(session: Any, ticket_id: str, *, caller: Caller) -> None:
    """Nothing, or 404 when the ticket's customer is outside the caller's scope."""
    if caller.scope is None:
        return
    if not await ticket_visible(session, ticket_id=ticket_id, scope=caller.scope):
        raise ProblemError(404, "Ticket not found", f"ticket {ticket_id} is not known")


def _ticket_view(row: dict[str, Any], now: Any) -> TicketOut:
    return TicketOut.model_validate(plain(row | {"sla_breached": overdue(row, now)}))


@router.post(
    "/tickets",
    status_code=status.HTTP_201_CREATED,
    tags=["tickets"],
    operation_id="createTicket",
    response_model_exclude_unset=True,
    responses=problems(401, 403, 404, 422),
)
async def create_ticket(
    body: TicketIn,
    session: DbSession,
    caller: Staff,
    correlation_id: CorrelationId,
    settings: ServiceConfig,
    now: Now,
) -> TicketOut:
    """Open a service ticket; its SLA depends on the kind."""
    principal = caller.principal
    async with session.begin():
        await existing_customer(session, body.customer_id, scope=caller.scope)
        row = await open_ticket(
            session,
            **body.model_dump(),
            sla=timedelta(hours=settings.ticket_sla_hours.get(body.kind, 72)),
            now=now,
            actor=principal.subject,
        )
        await audit.record(
            session,
            actor=principal.subject,
            action="ticket.open",
            subject=row["ticket_id"],
            details={"customer_id": body.customer_id, "kind": body.kind},
            correlation_id=correlation_id,
        )
    return _ticket_view(row, now)


@router.get(
    "/tickets",
    tags=["tickets"],
    operation_id="listTickets",
    response_model_exclude_unset=True,
    responses=problems(400, 401, 403, 422),
)
async def list_tickets(
    session: DbSession,
    caller: Reader,
    now: Now,
    status_: Annotated[str | None, Query(alias="status", pattern="^(open|in_progress|resolved|closed)$")] = None,
    kind: Annotated[
        str | None, Query(pattern="^(complaint|hardship_request|restructuring_request|data_correction)$")
    ] = None,
    owner: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
    customer_id: CustomerFilter = None,
    limit: WideLimit = 100,
    cursor: Cursor = None,
) -> Page[TicketOut]:
    """Tickets by status, kind, owner and customer, with whether the SLA is breached."""
    with cursor_checked():
        items, next_cursor = await queries.list_tickets(
            session,
            status=status_,
            kind=kind,
            owner=owner,
            customer_id=customer_id,
            limit=limit,
            cursor=cursor,
            visible=visible_customer(tickets.c.customer_id, caller.scope),
        )
    return Page[TicketOut](items=[_ticket_view(i, now) for i in items], next_cursor=next_cursor)


@router.patch(
    "/tickets/{ticket_id}",
    tags=["tickets"],
    operation_id="patchTicket",
    response_model_exclude_unset=True,
    responses=problems(401, 403, 404, 409, 422),
)
async def patch_ticket(
    ticket_id: str,
    body: TicketPatch,
    session: DbSession,
    caller: Staff,
    correlation_id: CorrelationId,
    now: Now,
) -> TicketOut:
    """Move a ticket's status or give it to another owner."""
    if body.status is None and body.owner is None:
        raise ProblemError(422, "Nothing to change", "give status and/or owner")
    principal = caller.principal
    async with session.begin():
        await _visible_ticket(session, ticket_id, caller=caller)
        try:
            before, after = await change_ticket(
                session, ticket_id=ticket_id, status=body.status, owner=body.owner, now=now
            )
        except LookupError as exc:
            raise ProblemError(404, "Ticket not found", str(exc)) from exc
        except ValueError as exc:
            raise ProblemError(409, "Invalid transition", str(exc)) from exc
        await audit.record(
            session,
            actor=principal.subject,
            action="ticket.update",
            subject=ticket_id,
            details={"from": {"status": before["status"], "owner": before["owner"]}, "to": body.model_dump()},
            correlation_id=correlation_id,
        )
    return _ticket_view(after, now)


@router.get(
    "/care-touchpoints",
    tags=["care"],
    operation_id="listCareTouchpoints",
    response_model_exclude_unset=True,
    responses=problems(401, 403, 422),
)
async def list_touchpoints(
    session: DbSession,
    caller: Reader,
    status_: Annotated[str | None, Query(alias="status", pattern="^(planned|done|skipped)$")] = "planned",
    due_before: date | None = None,
    customer_id: CustomerFilter = None,
    limit: WideLimit = 100,
) -> Page[TouchpointOut]:
    """Care touchpoints (maturity, hardship follow-up, birthday) by status and due day, soonest first."""
    rows = await care_rows.list_touchpoints(
        session, scope=caller.scope, status=status_, due_before=due_before, customer_id=customer_id, limit=limit
    )
    return Page[TouchpointOut].model_validate({"items": plain(rows), "next_cursor": None})


@router.patch(
    "/care-touchpoints/{touchpoint_id}",
    tags=["care"],
    operation_id="patchCareTouchpoint",
    response_model_exclude_unset=True,
    responses=problems(401, 403, 404, 422),
)
async def patch_touchpoint(
    touchpoint_id: Annotated[int, Path(ge=1, le=2**63 - 1)],  # a BIGINT id
    body: TouchpointPatch,
    session: DbSession,
    caller: Staff,
    correlation_id: CorrelationId,
) -> TouchpointOut:
    """Mark a touchpoint done or skipped, with a note."""
    principal = caller.principal
    async with session.begin():
        row = await care_rows.mark_touchpoint(
            session, touchpoint_id=touchpoint_id, scope=caller.scope, status=body.status, note=body.note
        )
        if row is None:
            raise ProblemError(404, "Touchpoint not found", f"care touchpoint {touchpoint_id} is not known")
        await audit.record(
            session,
            actor=principal.subject,
            action="care.update",
            subject=str(touchpoint_id),
            details={"status": body.status},
            correlation_id=correlation_id,
        )
    return TouchpointOut.model_validate(plain(row))
