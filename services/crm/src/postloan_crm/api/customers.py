"""Customers: profile, customer 360, communications and interactions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.web import (
    CorrelationId,
    CurrentPrincipal,
    DbSession,
    Principal,
    ProblemError,
    can_read_pii,
    require_roles,
)
from postloan_common.web.openapi import Page, problems
from postloan_crm.api.agencies import require_placed
from postloan_crm.api.deps import (
    Caller,
    CaseReader,
    Cursor,
    Limit,
    Now,
    Reader,
    caller_with,
    contact_rule_problem,
    cursor_checked,
    existing_customer,
)
from postloan_crm.api.present import communication_view, customer_changes, customer_view, plain
from postloan_crm.api.responses import CommunicationOut, CustomerOut, CustomerOverviewOut, InteractionOut
from postloan_crm.api.schemas import CustomerIn, CustomerPatch, InteractionIn, RelatedPartyIn
from postloan_crm.service import audit, queries
from postloan_crm.service.customers import (
    PROFILE_FIELDS,
    ConsentData,
    CustomerData,
    PartyData,
    PhoneData,
    load_customer,
    set_consents,
    upsert_customer,
)
from postloan_crm.service.events import Trace
from postloan_crm.service.interactions import ContactRefused, InteractionData, log_interaction
from postloan_crm.store.access import visible_customer_ids

router = APIRouter(tags=["customers"])
Writers = Depends(require_roles("system", "supervisor", "admin"))
ScopedWriter = Annotated[Caller, Depends(caller_with("system", "supervisor", "admin"))]
Agent = Annotated[Caller, Depends(caller_with("collector", "supervisor", "admin"))]
# An agency reports its results on the cases placed with it as interactions.
Recorder = Annotated[Caller, Depends(caller_with("collector", "supervisor", "admin", "agency"))]
FUTURE_SLACK = timedelta(minutes=5)
# The fields of a logged interaction taken as the body gives them.
AS_GIVEN = {"direction", "party", "connected", "case_id", "loan_id", "note"}
# Who listed which customers is audited whether or not they saw them in clear.
LIST_READ = "customer.list"


def _parties(items: list[RelatedPartyIn] | None) -> tuple[PartyData, ...] | None:
    if items is None:
        return None
    return tuple(
        PartyData(p.name, p.relation, p.customer_id, tuple(PhoneData(ph.number, ph.kind) for ph in p.phones))
        for p in items
    )


def _consents(items: list[Any] | None) -> tuple[ConsentData, ...] | None:
    if items is None:
        return None
    return tuple(ConsentData(c.channel.value, c.granted, c.purpose, c.recorded_on) for c in items)


def to_data(body: CustomerIn) -> CustomerData:
    """The customer record of a POST body."""
    return CustomerData(
        **body.model_dump(include=set(PROFILE_FIELDS)),
        phones=tuple(PhoneData(p.number, p.kind) for p in body.phones),
        emails=tuple(body.emails),
        consents=_consents(body.consents),
        related_parties=_parties(body.related_parties),
        address=body.address.model_dump(mode="json") if body.address else None,
    )


async def pii_read(
    session: AsyncSession, *, principal: Principal, customer_ids: list[str], what: str, correlation_id: str
) -> None:
    """Audit that `principal` saw these customers' personal data in clear (nothing to record when masked)."""
    if not can_read_pii(principal):
        return
    for customer_id in dict.fromkeys(customer_ids):
        await audit.record(
            session,
            actor=principal.subject,
            action=audit.PII_READ,
            subject=customer_id,
            details={"what": what},
            correlation_id=correlation_id,
        )


@router.post(
    "/customers",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Writers],
    operation_id="createCustomer",
    response_model_exclude_unset=True,
    responses={
        200: {"description": "An existing customer's record was replaced", "model": CustomerOut},
        **problems(401, 403, 422),
    },
)
async def create_customer(
    body: CustomerIn,
    response: Response,
    session: DbSession,
    principal: CurrentPrincipal,
    correlation_id: CorrelationId,
) -> CustomerOut:
    """Create a customer, or replace the record of an existing one (200)."""
    async with session.begin():
        before = await load_customer(session, body.customer_id, lock=True)
        created = await upsert_customer(session, data=to_data(body), source="rest")
        data = await existing_customer(session, body.customer_id, scope=None)
        await audit.record(
            session,
            actor=principal.subject,
            action="customer.create" if created else "customer.replace",
            subject=body.customer_id,
            details={} if created else {"changes": customer_changes(before, data)},
            correlation_id=correlation_id,
        )
        await pii_read(
            session, principal=principal, customer_ids=[body.customer_id], what="profile", correlation_id=correlation_id
        )
    if not created:
        response.status_code = status.HTTP_200_OK
    return CustomerOut.model_validate(customer_view(data, principal=principal))


@router.get(
    "/customers",
    operation_id="listCustomers",
    response_model_exclude_unset=True,
    responses=problems(400, 401, 403, 422),
)
async def list_customers(
    session: DbSession,
    caller: Reader,
    correlation_id: CorrelationId,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[CustomerOut]:
    """Customers ordered by id, one page at a time (a collector's or supervisor's own only)."""
    principal = caller.principal
    after = None
    if cursor:
        with cursor_checked():
            (after,) = queries.decode_cursor(cursor, 1)
    async with session.begin():
        ids = await visible_customer_ids(session, scope=caller.scope, after=after, limit=limit)
        more = len(ids) > limit
        ids = ids[:limit]
        items = [await load_customer(session, i) for i in ids]
        await pii_read(session, principal=principal, customer_ids=ids, what="list", correlation_id=correlation_id)
        await audit.record(
            session,
            actor=principal.subject,
            action=LIST_READ,
            subject="customers",
            details={
                "filter": {"limit": limit, "cursor": cursor},
                "rows": len(ids),
                "masked": not can_read_pii(principal),
            },
            correlation_id=correlation_id,
        )
    return Page[CustomerOut].model_validate(
        {
            "items": [customer_view(c, principal=principal) for c in items if c is not None],
            "next_cursor": queries.encode_cursor(ids[-1]) if more else None,
        }
    )


@router.get(
    "/customers/{customer_id}",
    operation_id="getCustomer",
    response_model_exclude_unset=True,
    responses=problems(401, 403, 404),
)
async def get_customer(
    customer_id: str, session: DbSession, caller: CaseReader, correlation_id: CorrelationId
) -> CustomerOut:
    """A customer's profile, contact points, consents and related parties."""
    principal = caller.principal
    async with session.begin():
        data = await existing_customer(session, customer_id, scope=caller.scope)
        await pii_read(
            session, principal=principal, customer_ids=[customer_id], what="profile", correlation_id=correlation_id
        )
    return CustomerOut.model_validate(customer_view(data, principal=principal))


@router.patch(
    "/customers/{customer_id}",
    operation_id="patchCustomer",
    response_model_exclude_unset=True,
    responses=problems(401, 403, 404, 422),
)
async def patch_customer(
    customer_id: str,
    body: CustomerPatch,
    session: DbSession,
    caller: ScopedWriter,
    correlation_id: CorrelationId,
) -> CustomerOut:
    """Change some fields of a customer; consents given are merged (an opt-out is `granted: false`)."""
    given = body.model_fields_set
    principal = caller.principal
    async with session.begin():
        current = await existing_customer(session, customer_id, scope=caller.scope, lock=True)
        changes: dict[str, Any] = body.model_dump(include=given & set(PROFILE_FIELDS))
        if "phones" in given:
            changes["phones"] = tuple(PhoneData(p.number, p.kind) for p in body.phones or [])
        if "emails" in given:
            changes["emails"] = tuple(body.emails or [])
        if "related_parties" in given:
            changes["related_parties"] = _parties(body.related_parties or [])
        if "address" in given:
            changes["address"] = body.address.model_dump(mode="json") if body.address else None
        updated = replace(current, consents=None, **changes)
        if "jurisdiction" not in given and "address" in given:
            updated = replace(updated, jurisdiction=None)  # re-derive from the new address
        await upsert_customer(session, data=updated, source="rest")
        if body.consents:
            await set_consents(session, customer_id=customer_id, items=_consents(body.consents) or ())
        data = await existing_customer(session, customer_id, scope=caller.scope)
        await audit.record(
            session,
            actor=principal.subject,
            action="customer.update",
            subject=customer_id,
            details={"fields": sorted(given), "changes": customer_changes(current, data)},
            correlation_id=correlation_id,
        )
        await pii_read(
            session, principal=principal, customer_ids=[customer_id], what="profile", correlation_id=correlation_id
        )
    return CustomerOut.model_validate(customer_view(data, principal=principal))


@router.get(
    "/customers/{customer_id}/overview",
    operation_id="getCustomerOverview",
    response_model_exclude_unset=True,
    responses=problems(401, 403, 404),
)
async def customer_overview(
    customer_id: str, session: DbSession, caller: Reader, correlation_id: CorrelationId
) -> CustomerOverviewOut:
    """Customer 360: profile, loans with their latest risk, open case, recent interactions and communications."""
    principal = caller.principal
    async with session.begin():
        data = await existing_customer(session, customer_id, scope=caller.scope)
        around = await queries.overview(session, customer_id)
        await pii_read(
            session, principal=principal, customer_ids=[customer_id], what="overview", correlation_id=correlation_id
        )
    around["recent_communications"] = [
        communication_view(c, principal=principal) for c in around["recent_communications"]
    ]
    return CustomerOverviewOut.model_validate({"profile": customer_view(data, principal=principal), **plain(around)})


@router.get(
    "/customers/{customer_id}/communications",
    operation_id="listCustomerCommunications",
    response_model_exclude_unset=True,
    responses=problems(400, 401, 403, 404, 422),
)
async def customer_communications(
    customer_id: str,
    session: DbSession,
    caller: Reader,
    correlation_id: CorrelationId,
    status_: Annotated[str | None, Query(alias="status", pattern="^(queued|deferred|sent|failed|suppressed)$")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[CommunicationOut]:
    """The customer's reminders and messages, newest first, with status and reason."""
    principal = caller.principal
    async with session.begin():
        await existing_customer(session, customer_id, scope=caller.scope)
        with cursor_checked():
            items, next_cursor = await queries.list_communications(
                session, customer_id=customer_id, status=status_, limit=limit, cursor=cursor
            )
        if any(i["recipient"] for i in items):
            await pii_read(
                session,
                principal=principal,
                customer_ids=[customer_id],
                what="communications",
                correlation_id=correlation_id,
            )
    return Page[CommunicationOut].model_validate(
        {"items": [communication_view(i, principal=principal) for i in items], "next_cursor": next_cursor}
    )


@router.post(
    "/customers/{customer_id}/interactions",
    status_code=status.HTTP_201_CREATED,
    operation_id="logInteraction",
    response_model_exclude_unset=True,
    responses=problems(401, 403, 404, 409, 422),
)
async def post_interaction(
    customer_id: str,
    body: InteractionIn,
    session: DbSession,
    caller: Recorder,
    correlation_id: CorrelationId,
    now: Now,
) -> InteractionOut:
    """Log a contact; an outbound call that would break a contact rule is refused with 409 naming the rule."""
    principal = caller.principal
    occurred_at = body.occurred_at or now
    if occurred_at.tzinfo is None:
        raise ProblemError(422, "Invalid interaction", "occurred_at must carry a time zone offset")
    if occurred_at > now + FUTURE_SLACK:
        raise ProblemError(422, "Invalid interaction", "occurred_at lies in the future")
    if body.next_action_at is not None and body.next_action_at.tzinfo is None:
        raise ProblemError(422, "Invalid interaction", "next_action_at must carry a time zone offset")
    async with session.begin():
        await require_placed(session, caller=caller, case_id=body.case_id, customer_id=customer_id)
        customer = await existing_customer(session, customer_id, scope=caller.scope, lock=True)
        try:
            row = await log_interaction(
                session,
                customer=customer,
                data=InteractionData(
                    **body.model_dump(include=AS_GIVEN),
                    channel=body.channel.value,
                    outcome=body.outcome.value,
                    occurred_at=occurred_at.astimezone(UTC),
                    next_action_at=body.next_action_at.astimezone(UTC) if body.next_action_at else None,
                ),
                agent_id=principal.subject,
                trace=Trace(correlation_id=correlation_id),
            )
        except ContactRefused as exc:
            raise contact_rule_problem(exc) from exc
        except LookupError as exc:
            raise ProblemError(422, "Invalid interaction", str(exc)) from exc
        await audit.record(
            session,
            actor=principal.subject,
            action="interaction.log",
            subject=customer_id,
            details={"interaction_id": row["interaction_id"], "outcome": row["outcome"]},
            correlation_id=correlation_id,
        )
    return InteractionOut.model_validate(plain(row))
