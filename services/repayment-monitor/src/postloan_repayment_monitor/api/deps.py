"""Dependencies shared by the repayment-monitor routes."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query, Request

from postloan_common.web import DbSession, require_roles
from postloan_repayment_monitor.domain.rules import BucketScheme
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


async def current_business_date(session: DbSession, settings: ServiceConfig) -> date:
    """The business date D, read without locking."""
    return await business_date(session, initial=settings.first_business_date())
