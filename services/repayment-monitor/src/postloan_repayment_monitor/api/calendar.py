"""The business calendar: read it, close the day, advance it; its holidays and working-day overrides."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from postloan_common.web import DbSession, ProblemError
from postloan_common.web.openapi import problems
from postloan_repayment_monitor.api.deps import (
    Buckets,
    Caller,
    CurrentCaller,
    PageCursor,
    PageLimit,
    Reader,
    ServiceConfig,
    Today,
    Writer,
    cursor_key,
)
from postloan_repayment_monitor.api.problems import CHANGE, READ_PAGE
from postloan_repayment_monitor.api.schemas import (
    AdvanceIn,
    AdvanceOut,
    CalendarDayChangeOut,
    CalendarDayIn,
    CalendarDaysOut,
    CalendarOut,
    CloseDayIn,
    CloseDayOut,
    NonBusinessDaysOut,
)
from postloan_repayment_monitor.domain.business_days import DayKind
from postloan_repayment_monitor.service import holidays, metrics, queries
from postloan_repayment_monitor.service.calendar import business_date
from postloan_repayment_monitor.service.close_of_day import CloseResult, close_audited

router = APIRouter(tags=["calendar"])


def _out(result: CloseResult) -> dict[str, Any]:
    return {
        "closed": result.business_date,
        "business_date": result.next_business_date,
        "already_closed": result.already_closed,
        "stats": result.stats,
    }


@router.get(
    "/calendar",
    response_model=CalendarOut,
    dependencies=[Reader],
    operation_id="getCalendar",
    responses=problems(401, 403),
)
async def get_calendar(session: DbSession, settings: ServiceConfig, today: Today) -> dict[str, Any]:
    """The current business date and the last closed one."""
    await session.commit()
    return {
        "business_date": today,
        "last_closed": await queries.last_closed(session),
        "timezone": settings.business_timezone,
        "close_of_day_at": settings.close_of_day_at.isoformat() if settings.close_of_day_at else None,
        "weekend_days": list(settings.weekend_days),
    }


async def close_one(
    session: DbSession,
    settings: ServiceConfig,
    buckets: Buckets,
    *,
    expected: date | None,
    caller: Caller,
) -> CloseResult:
    """Close one business day in its own transaction."""
    started = time.perf_counter()
    async with session.begin():
        try:
            result = await close_audited(
                session,
                settings=settings,
                buckets=buckets,
                expected=expected,
                correlation_id=caller.correlation_id,
                actor=caller.actor,
            )
        except ValueError as exc:
            raise ProblemError(409, "Cannot close that day", str(exc)) from exc
    metrics.count_close(result, seconds=time.perf_counter() - started)
    return result


@router.post(
    "/calendar/close-day",
    response_model=CloseDayOut,
    dependencies=[Writer],
    operation_id="closeDay",
    responses=CHANGE,
)
async def post_close_day(
    session: DbSession,
    settings: ServiceConfig,
    buckets: Buckets,
    caller: CurrentCaller,
    body: CloseDayIn | None = None,
) -> dict[str, Any]:
    """Close the current business date D and open D + 1 (idempotent when `business_date` is given)."""
    result = await close_one(
        session,
        settings,
        buckets,
        expected=body.business_date if body else None,
        caller=caller,
    )
    return _out(result)


@router.post(
    "/calendar/advance",
    response_model=AdvanceOut,
    dependencies=[Writer],
    operation_id="advanceCalendar",
    responses=CHANGE,
)
async def post_advance(
    body: AdvanceIn,
    session: DbSession,
    settings: ServiceConfig,
    buckets: Buckets,
    today: Today,
    caller: CurrentCaller,
) -> dict[str, Any]:
    """Close every day from the business date up to the day before `to`, in order."""
    await session.commit()
    if body.to < today:
        raise ProblemError(409, "Cannot go back", f"the business date is already {today}, after {body.to}")
    if (body.to - today).days > 366:
        raise ProblemError(422, "Too far", "advance at most 366 days in one request")
    closed = []
    while today < body.to:
        result = await close_one(session, settings, buckets, expected=today, caller=caller)
        closed.append(_out(result))
        today = result.next_business_date
    return {"business_date": today, "closed": closed}


# --- holidays and working-day overrides ------------------------------------------------------------

FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
MAX_RANGE_DAYS = 366
From = Annotated[date | None, Query(alias="from", description="first day (inclusive)")]
To = Annotated[date | None, Query(alias="to", description="last day (inclusive)")]
Day = Annotated[date, Path(description="the day, YYYY-MM-DD")]


def _plausible(day: date, what: str) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ProblemError(422, "Invalid date", f"{what} must be between {FIRST_DAY} and {LAST_DAY}")
    return day


def _range(start: date | None, end: date | None) -> None:
    for value, what in ((start, "from"), (end, "to")):
        if value is not None:
            _plausible(value, what)
    if start is not None and end is not None and end < start:
        raise ProblemError(422, "Invalid range", f"to {end} is before from {start}")


@router.get(
    "/calendar/holidays",
    response_model=CalendarDaysOut,
    dependencies=[Reader],
    operation_id="listCalendarDays",
    responses=READ_PAGE,
)
async def list_calendar_days(
    session: DbSession,
    start: From = None,
    end: To = None,
    limit: PageLimit = 100,
    cursor: PageCursor = None,
) -> dict[str, Any]:
    """The calendar's entries in day order: holidays and working-day overrides (weekend days that are worked)."""
    _range(start, end)
    after = cursor_key(cursor, date.fromisoformat)
    items, last = await holidays.list_days(session, start=start, end=end, after=after, limit=limit)
    return {
        "items": [item.view() for item in items],
        "next_cursor": queries.encode_cursor([last.isoformat()]) if last is not None else None,
    }


@router.get(
    "/calendar/non-business-days",
    response_model=NonBusinessDaysOut,
    dependencies=[Reader],
    operation_id="listNonBusinessDays",
    responses=problems(401, 403, 422),
)
async def list_non_business_days(
    session: DbSession, settings: ServiceConfig, start: From = None, end: To = None
) -> dict[str, Any]:
    """Every non-business day from `from` (default: the business date) to `to` (default: 30 days on), at
    most 366 days, with the reason and the business day a due date on it moves to."""
    _range(start, end)
    first = start or await business_date(session, initial=settings.first_business_date())
    last = end or first + timedelta(days=30)
    if (last - first).days >= MAX_RANGE_DAYS or last < first:
        raise ProblemError(422, "Invalid range", f"from and to must span 1 to {MAX_RANGE_DAYS} days")
    calendar = await holidays.load_calendar(session, weekend=settings.weekend())
    return {
        "from": first,
        "to": last,
        "weekend_days": list(settings.weekend_days),
        "items": holidays.non_business_days(calendar, start=first, end=last),
    }


@router.put(
    "/calendar/holidays/{day}",
    response_model=CalendarDayChangeOut,
    dependencies=[Writer],
    responses={
        **problems(401, 403, 422),
        201: {"model": CalendarDayChangeOut, "description": "The day had no entry yet"},
    },
    operation_id="putCalendarDay",
)
async def put_calendar_day(
    day: Day,
    body: CalendarDayIn,
    response: Response,
    session: DbSession,
    settings: ServiceConfig,
    caller: CurrentCaller,
) -> dict[str, Any]:
    """Make `day` a holiday, or (`kind: working_day`) a weekend day a business day; 201 when it had no entry.

    The installments not yet due of loans whose product shifts due dates move accordingly
    (`reshifted` counts them); the same body again changes nothing.
    """
    _plausible(day, "day")
    async with session.begin():
        today = await business_date(session, initial=settings.first_business_date(), lock="update")
        try:
            change = await holidays.put_day(
                session,
                day=day,
                kind=DayKind(body.kind),
                name=body.name,
                business_date=today,
                weekend=settings.weekend(),
                actor=caller.actor,
                correlation_id=caller.correlation_id,
            )
        except holidays.NotAWeekendDay as exc:
            raise ProblemError(422, "Not a weekend day", str(exc), type_="/problems/not-a-weekend-day") from exc
    if change.created:
        response.status_code = status.HTTP_201_CREATED
    assert change.entry is not None
    return {**change.entry.view(), "reshifted": change.reshifted}


@router.delete(
    "/calendar/holidays/{day}",
    response_model=CalendarDayChangeOut,
    dependencies=[Writer],
    operation_id="deleteCalendarDay",
    responses=problems(401, 403, 404, 422),
)
async def delete_calendar_day(
    day: Day,
    session: DbSession,
    settings: ServiceConfig,
    caller: CurrentCaller,
) -> dict[str, Any]:
    """Remove the entry for `day` (it is a business day again unless a weekend day); returns what was removed.

    The installments not yet due of loans whose product shifts due dates move accordingly.
    """
    _plausible(day, "day")
    async with session.begin():
        today = await business_date(session, initial=settings.first_business_date(), lock="update")
        change = await holidays.delete_day(
            session,
            day=day,
            business_date=today,
            weekend=settings.weekend(),
            actor=caller.actor,
            correlation_id=caller.correlation_id,
        )
    if change.entry is None:
        raise ProblemError(404, "No such calendar day", f"the calendar has no entry for {day}")
    return {**change.entry.view(), "reshifted": change.reshifted}
