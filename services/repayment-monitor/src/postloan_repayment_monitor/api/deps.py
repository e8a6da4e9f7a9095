"""Dependencies shared by the repayment-monitor routes."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Request

from postloan_common.web import DbSession
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


async def current_business_date(session: DbSession, settings: ServiceConfig) -> date:
    """The business date D, read without locking."""
    return await business_date(session, initial=settings.first_business_date())
