"""Dependencies shared by the repayment-monitor routes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.web import CorrelationId, CurrentPrincipal, DbSession, ProblemError, require_roles
from postloan_repayment_monitor.domain.rules import BucketScheme
from postloan_repayment_monitor.service import audit, queries
from postloan_repayment_monitor.service.calendar import business_date
from postloan_repayment_monitor.settings import Settings


def get_settings(request: Request) -> Settings:
    """The service settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_buckets() -> BucketScheme:
    """The delinquency bucket scheme (the platform defaults, docs/domain.md)."""
    return BucketScheme()


ServiceConfig = Annotated[Settings, Depends(get_settings)]
Buckets = Annotated[BucketScheme, Depends(get_buckets)]

# Writes are for core banking's integration and admins; any staff role may read loans, the calendar and products.
Writer = Depends(require_roles("system", "admin"))
Reader = Depends(
    require_roles("system", "collector", "supervisor", "risk_officer", "analyst", "compliance", "relationship_manager")
)

# The keyset-pagination parameters of every list route.
PageLimit = Annotated[int, Query(ge=1, le=500)]
PageCursor = Annotated[str | None, Query(max_length=500)]
T = TypeVar("T")


def cursor_key(cursor: str | None, parse: Callable[[str], T]) -> T | None:
    """The one key a page's cursor carries, parsed; None for the first page; 400 for a cursor not from this API."""
    if not cursor:
        return None
    try:
        values = queries.decode_cursor(cursor)
        if len(values) != 1 or not isinstance(values[0], str):
            raise queries.BadCursor("cursor is not valid")
        return parse(values[0])
    except ValueError as exc:  # queries.BadCursor is one
        raise ProblemError(400, "Bad cursor", "cursor is not valid") from exc


async def current_business_date(session: DbSession, settings: ServiceConfig) -> date:
    """The business date D, read without locking."""
    return await business_date(session, initial=settings.first_business_date())


Today = Annotated[date, Depends(current_business_date)]


@dataclass(frozen=True)
class Caller:
    """Who makes a write and the correlation id of the request: what its audit row and its events name."""

    actor: str
    correlation_id: str

    async def audit(self, session: AsyncSession, *, action: str, subject: str, details: dict[str, Any]) -> None:
        """Record the write in the audit trail, in the caller's transaction."""
        await audit.record(
            session,
            actor=self.actor,
            action=action,
            subject=subject,
            details=details,
            correlation_id=self.correlation_id,
        )


async def get_caller(principal: CurrentPrincipal, correlation_id: CorrelationId) -> Caller:
    """The authenticated caller of this request, with its correlation id."""
    return Caller(principal.subject, correlation_id)


CurrentCaller = Annotated[Caller, Depends(get_caller)]
