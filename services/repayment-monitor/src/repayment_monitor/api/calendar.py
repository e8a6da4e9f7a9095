"""The business calendar: read it, close the day, advance it."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends

from postloan_common.web import CorrelationId, CurrentPrincipal, DbSession, ProblemError, require_roles
from repayment_monitor.api.deps import Buckets, ServiceConfig
from repayment_monitor.api.schemas import AdvanceIn, AdvanceOut, CalendarOut, CloseDayIn, CloseDayOut
from repayment_monitor.service import audit, metrics, queries
from repayment_monitor.service.calendar import business_date
from repayment_monitor.service.close_of_day import CloseResult, close_day

router = APIRouter(tags=["calendar"])
Operator = Depends(require_roles("system", "admin"))


def _out(result: CloseResult) -> dict[str, Any]:
    return {
        "closed": result.business_date,
        "business_date": result.next_business_date,
        "already_closed": result.already_closed,
        "stats": result.stats,
    }


@router.get("/calendar", response_model=CalendarOut)
async def get_calendar(session: DbSession, settings: ServiceConfig, _: CurrentPrincipal) -> dict[str, Any]:
    """The current business date and the last closed one."""
    today = await business_date(session, initial=settings.first_business_date())
    await session.commit()
    return {
        "business_date": today,
        "last_closed": await queries.last_closed(session),
        "timezone": settings.business_timezone,
        "close_of_day_at": settings.close_of_day_at.isoformat() if settings.close_of_day_at else None,
    }


async def close_one(
    session: DbSession,
    settings: ServiceConfig,
    buckets: Buckets,
    *,
    expected: date | None,
    correlation_id: str,
    actor: str,
) -> CloseResult:
    """Close one business day in its own transaction."""
    started = time.perf_counter()
    async with session.begin():
        try:
            result = await close_day(
                session,
                expected=expected,
                initial=settings.first_business_date(),
                buckets=buckets,
                partitions=settings.kafka_topic_partitions,
                correlation_id=correlation_id,
            )
        except ValueError as exc:
            raise ProblemError(409, "Cannot close that day", str(exc)) from exc
        if not result.already_closed:
            await audit.record(
                session,
                actor=actor,
                action="calendar.close-day",
                subject=result.business_date.isoformat(),
                details=result.stats,
                correlation_id=correlation_id,
            )
    metrics.count_close(result, seconds=time.perf_counter() - started)
    return result


@router.post("/calendar/close-day", response_model=CloseDayOut, dependencies=[Operator])
async def post_close_day(
    session: DbSession,
    settings: ServiceConfig,
    buckets: Buckets,
    principal: CurrentPrincipal,
    correlation_id: CorrelationId,
    body: CloseDayIn | None = None,
) -> dict[str, Any]:
    """Close the current business date D and open D + 1 (idempotent when `business_date` is given)."""
    result = await close_one(
        session,
        settings,
        buckets,
        expected=body.business_date if body else None,
        correlation_id=correlation_id,
        actor=principal.subject,
    )
    return _out(result)


@router.post("/calendar/advance", response_model=AdvanceOut, dependencies=[Operator])
async def post_advance(
    body: AdvanceIn,
    session: DbSession,
    settings: ServiceConfig,
    buckets: Buckets,
    principal: CurrentPrincipal,
    correlation_id: CorrelationId,
) -> dict[str, Any]:
    """Close every day from the business date up to the day before `to`, in order."""
    today = await business_date(session, initial=settings.first_business_date())
    await session.commit()
    if body.to < today:
        raise ProblemError(409, "Cannot go back", f"the business date is already {today}, after {body.to}")
    if (body.to - today).days > 366:
        raise ProblemError(422, "Too far", "advance at most 366 days in one request")
    closed = []
    while today < body.to:
        result = await close_one(
            session, settings, buckets, expected=today, correlation_id=correlation_id, actor=principal.subject
        )
        closed.append(_out(result))
        today = result.next_business_date
    return {"business_date": today, "closed": closed}
