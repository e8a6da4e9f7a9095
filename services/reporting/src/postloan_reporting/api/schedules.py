"""Scheduled management reports (`/v1/reports/management/schedules`): create, list, read with runs, delete."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from postloan_common.contracts.common import Id
from postloan_common.web import CorrelationId, CurrentPrincipal, DbSession, ProblemError, require_roles
from postloan_common.web.openapi import Page, problems
from postloan_reporting.api.routes import READERS
from postloan_reporting.service import schedules

router = APIRouter(prefix="/v1/reports/management/schedules", dependencies=[Depends(require_roles(*READERS))])
# Who may create and delete schedules (any reader may read them).
WRITERS = ("analyst", "admin")
ScheduleId = Annotated[str, Path(max_length=64)]

# No separators and no control characters: a NUL would otherwise reach PostgreSQL (a 500) and SMTP.
_PART = r"[^@\s,;<>\x00-\x1f]+"
Email = Annotated[str, StringConstraints(max_length=254, pattern=rf"^{_PART}@{_PART}\.{_PART}$")]
Filter = Annotated[str | None, Field(max_length=64)]


class ScheduleIn(BaseModel):
    """A monthly management report e-mailed to `recipients` after each month's last close of day."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "schedule_id": "monthly-board",
                    "recipients": ["risk-committee@bank.example"],
                    "lang": "zh-CN",
                    "format": "pdf",
                    "product": None,
                    "branch": None,
                }
            ]
        },
    )

    schedule_id: Id
    recipients: list[Email] = Field(min_length=1, max_length=50)
    lang: Literal["zh-CN", "en"] = "zh-CN"
    format: Literal["pdf", "xlsx", "html"] = "pdf"
    product: Filter = None
    branch: Filter = None


class RunOut(BaseModel):
    """One month's run: sent, or failed with the error (retried a few times)."""

    month: date = Field(description="The first day of the month reported")
    as_of: date
    status: Literal["sent", "failed"]
    attempts: int
    error: str | None
    sent_at: datetime | None


class _ScheduleFields(BaseModel):
    schedule_id: str
    recipients: list[str]
    lang: str
    format: str
    product: str | None
    branch: str | None
    first_month: date = Field(description="The first month reported: the one open when the schedule was created")
    created_by: str
    created_at: datetime


class ScheduleOut(_ScheduleFields):
    """A schedule and the record of its runs."""

    runs: list[RunOut]


class ScheduleSummaryOut(_ScheduleFields):
    """A schedule in the list, with its latest month's run (null before the first one)."""

    last_run_month: date | None = Field(description="The latest month a run was recorded for")
    last_run_status: Literal["sent", "failed"] | None
    last_run_attempts: int | None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="createManagementReportSchedule",
    tags=["management-schedules"],
    dependencies=[Depends(require_roles(*WRITERS))],
    responses={
        200: {"description": "The same schedule was created before", "model": ScheduleOut},
        **problems(401, 403, 409, 422, 503),
    },
)
async def create_schedule(
    body: ScheduleIn, response: Response, session: DbSession, principal: CurrentPrincipal, correlation_id: CorrelationId
) -> ScheduleOut:
    """Schedule the monthly management report; the same request again answers 200 with the schedule."""
    chosen = body.model_dump(exclude={"schedule_id"})
    async with session.begin():
        try:
            row, created = await schedules.create_schedule(
                session,
                chosen=chosen,
                schedule_id=body.schedule_id,
                actor=principal.subject,
                correlation_id=correlation_id,
            )
        except schedules.ScheduleConflict as exc:
            raise ProblemError(409, "Schedule exists", str(exc)) from exc
    if not created:
        response.status_code = status.HTTP_200_OK
    return ScheduleOut.model_validate(row | {"runs": []} if created else await _view(session, body.schedule_id))


async def _view(session: DbSession, schedule_id: str) -> dict[str, object]:
    view = await schedules.schedule_view(session, schedule_id=schedule_id)
    if view is None:
        raise ProblemError(404, "Schedule not found", f"no schedule {schedule_id}")
    return view


@router.get(
    "",
    operation_id="listManagementReportSchedules",
    tags=["management-schedules"],
    responses=problems(401, 403, 422, 503),
)
async def list_schedules(
    session: DbSession,
    cursor: Annotated[str | None, Query(max_length=64, description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ScheduleSummaryOut]:
    """Every schedule by id, each with the status of its latest month's run."""
    rows = await schedules.list_schedules(session, after=cursor, limit=limit + 1)
    items = [ScheduleSummaryOut.model_validate(row) for row in rows[:limit]]
    return Page[ScheduleSummaryOut](items=items, next_cursor=items[-1].schedule_id if len(rows) > limit else None)


@router.delete(
    "/{schedule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="deleteManagementReportSchedule",
    tags=["management-schedules"],
    dependencies=[Depends(require_roles(*WRITERS))],
    responses=problems(401, 403, 404, 422, 503),
)
async def delete_schedule(
    session: DbSession, principal: CurrentPrincipal, correlation_id: CorrelationId, schedule_id: ScheduleId
) -> Response:
    """Stop a schedule: it and the record of its runs are deleted (audited); no further month is sent."""
    async with session.begin():
        deleted = await schedules.delete_schedule(
            session, schedule_id=schedule_id, actor=principal.subject, correlation_id=correlation_id
        )
    if not deleted:
        raise ProblemError(404, "Schedule not found", f"no schedule {schedule_id}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{schedule_id}",
    operation_id="getManagementReportSchedule",
    tags=["management-schedules"],
    responses=problems(401, 403, 404, 422, 503),
)
async def get_schedule(session: DbSession, schedule_id: ScheduleId) -> ScheduleOut:
    """A schedule with the record of each month's run."""
    return ScheduleOut.model_validate(await _view(session, schedule_id))
