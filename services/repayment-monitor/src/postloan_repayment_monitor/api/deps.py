"""Dependencies shared by the repayment-monitor routes."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request

from postloan_common.web import DbSession, ProblemError
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


def reason_problem(reason: StrEnum, detail: str, *, status: int) -> ProblemError:
    """The problem response for a refusal named by `reason` (title and type derived from it)."""
    return ProblemError(
        status,
        reason.value.replace("_", " ").capitalize(),
        detail,
        type_=f"/problems/{reason.value.replace('_', '-')}",
        extra={"reason": reason.value},
    )
