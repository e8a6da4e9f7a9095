"""Dependencies shared by the crm routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.web import DbSession, Principal, ProblemError, require_roles
from postloan_crm.api.schemas import NO_NUL
from postloan_crm.domain.access import CASE_READERS, READERS, UNSCOPED, CaseScope, case_scope
from postloan_crm.service.customers import CustomerData, load_customer
from postloan_crm.service.interactions import ContactRefused
from postloan_crm.service.queries import BadCursor
from postloan_crm.settings import Settings
from postloan_crm.store.access import case_visible, customer_visible, team_members


def get_settings(request: Request) -> Settings:
    """The service settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_now() -> datetime:
    """The current instant (UTC); a dependency so tests can pin it."""
    return datetime.now(UTC)


ServiceConfig = Annotated[Settings, Depends(get_settings)]
Now = Annotated[datetime, Depends(get_now)]
# Page parameters of the list routes (each route keeps its own default page size).
Limit = Annotated[int, Query(ge=1, le=200)]
WideLimit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=500)]
# The `customer_id` filter of the list routes.
CustomerFilter = Annotated[str | None, Query(max_length=64, pattern=NO_NUL)]


@dataclass(frozen=True, slots=True)
class Caller:
    """An authorised caller and the cases they may see (None: all of them)."""

    principal: Principal
    scope: CaseScope | None


def caller_with(*roles: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency admitting `roles` (403 otherwise) and resolving the caller's case scope."""
    admitted = require_roles(*roles)

    # A default rather than Annotated: postponed annotations cannot name this closure's local.
    async def dependency(session: DbSession, principal: Principal = Depends(admitted)) -> Caller:
        members: list[str] = []
        if "supervisor" in principal.roles and not principal.roles & UNSCOPED:
            # Its own short transaction, so the route can still open one of its own.
            async with session.begin():
                members = await team_members(session, agent_id=principal.subject)
        return Caller(principal, case_scope(roles=principal.roles, subject=principal.subject, team_members=members))

    return dependency


Reader = Annotated[Caller, Depends(caller_with(*READERS))]
# Routes an agency may call too: its scope holds only the cases placed with it.
CaseReader = Annotated[Caller, Depends(caller_with(*CASE_READERS))]


async def existing_customer(
    session: AsyncSession, customer_id: str, *, scope: CaseScope | None, lock: bool = False
) -> CustomerData:
    """The customer, or a 404 problem when unknown or outside the caller's scope (so ids cannot be probed)."""
    if not await customer_visible(session, customer_id=customer_id, scope=scope):
        raise _customer_not_found(customer_id)
    return await known_customer(session, customer_id, lock=lock)


async def known_customer(session: AsyncSession, customer_id: str, *, lock: bool = False) -> CustomerData:
    """The customer, or a 404 problem when unknown (for callers whose scope a case already checked)."""
    customer = await load_customer(session, customer_id, lock=lock)
    if customer is None:
        raise _customer_not_found(customer_id)
    return customer


def _customer_not_found(customer_id: str) -> ProblemError:
    return ProblemError(404, "Customer not found", f"customer {customer_id} is not known")


async def visible_case(session: AsyncSession, case_id: str, *, scope: CaseScope | None) -> None:
    """Nothing, or a 404 problem when the case is unknown or outside the caller's scope."""
    if not await case_visible(session, case_id=case_id, scope=scope):
        raise ProblemError(404, "Case not found", f"case {case_id} is not known")


@contextmanager
def cursor_checked() -> Iterator[None]:
    """Answer a page cursor that does not decode with a 400 problem."""
    try:
        yield
    except BadCursor as exc:
        raise ProblemError(400, "Bad cursor", str(exc)) from exc


def contact_rule_problem(exc: ContactRefused) -> ProblemError:
    """The 409 problem naming the contact rule a contact now would break, and when it would be allowed."""
    return ProblemError(
        409,
        "Contact rule",
        f"{exc.rule}: {exc.decision.detail}",
        type_="/problems/contact-rule",
        extra={"rule": exc.rule, "allowed_from": exc.decision.until},
    )
