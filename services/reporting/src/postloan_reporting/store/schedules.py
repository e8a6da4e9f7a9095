"""Management-report schedules and the record of their monthly runs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_reporting.domain.schedules import RunState
from postloan_reporting.store.tables import report_runs, report_schedules

# What a schedule's creator chose (a repeat of the same id must choose the same).
CHOSEN = ("recipients", "lang", "format", "product", "branch")


async def insert_schedule(session: AsyncSession, *, values: Mapping[str, Any]) -> bool:
    """Insert a schedule; False when one of that id exists already."""
    result = await session.execute(
        insert(report_schedules).values(**values).on_conflict_do_nothing().returning(report_schedules.c.schedule_id)
    )
    return result.first() is not None


async def schedule(session: AsyncSession, *, schedule_id: str) -> dict[str, Any] | None:
    """A schedule's row, or None."""
    row = (await session.execute(select(report_schedules).where(report_schedules.c.schedule_id == schedule_id))).first()
    return None if row is None else dict(row._mapping)


async def schedules(session: AsyncSession) -> list[dict[str, Any]]:
    """Every schedule, oldest id first."""
    rows = await session.execute(select(report_schedules).order_by(report_schedules.c.schedule_id))
    return [dict(r._mapping) for r in rows]


async def runs(session: AsyncSession, *, schedule_id: str) -> list[dict[str, Any]]:
    """The runs of a schedule, by month."""
    rows = await session.execute(
        select(report_runs).where(report_runs.c.schedule_id == schedule_id).order_by(report_runs.c.month)
    )
    return [dict(r._mapping) for r in rows]


def run_states(rows: list[dict[str, Any]]) -> dict[date, RunState]:
    """Each month's run as the due rule reads it."""
    return {r["month"]: RunState(sent=r["status"] == "sent", attempts=r["attempts"]) for r in rows}


async def record_run(session: AsyncSession, *, schedule_id: str, month: date, as_of: date, error: str | None) -> None:
    """Record an attempt at a month: sent (no error) or failed; attempts count up."""
    values = {
        "schedule_id": schedule_id,
        "month": month,
        "as_of": as_of,
        "status": "failed" if error else "sent",
        "attempts": 1,
        "error": None if error is None else error[:500],
        "sent_at": None if error else func.now(),
    }
    statement = insert(report_runs).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["schedule_id", "month"],
            set_={
                "as_of": statement.excluded.as_of,
                "status": statement.excluded.status,
                "attempts": report_runs.c.attempts + 1,
                "error": statement.excluded.error,
                "sent_at": statement.excluded.sent_at,
            },
        )
    )


async def schedule_page(session: AsyncSession, *, after: str | None, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` schedules by id after `after`, each with its latest run's month, status and attempts."""
    latest = (
        select(report_runs.c.month, report_runs.c.status, report_runs.c.attempts)
        .where(report_runs.c.schedule_id == report_schedules.c.schedule_id)
        .order_by(report_runs.c.month.desc())
        .limit(1)
        .lateral("latest")
    )
    query = (
        select(
            report_schedules,
            latest.c.month.label("last_run_month"),
            latest.c.status.label("last_run_status"),
            latest.c.attempts.label("last_run_attempts"),
        )
        .outerjoin(latest, true())
        .order_by(report_schedules.c.schedule_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(report_schedules.c.schedule_id > after)
    return [dict(r._mapping) for r in await session.execute(query)]


async def delete_schedule(session: AsyncSession, *, schedule_id: str) -> dict[str, Any] | None:
    """Delete a schedule and the record of its runs; the deleted row, or None when there was none."""
    deleted = await session.execute(
        delete(report_schedules).where(report_schedules.c.schedule_id == schedule_id).returning(report_schedules)
    )
    row = deleted.first()
    if row is None:
        return None
    await session.execute(delete(report_runs).where(report_runs.c.schedule_id == schedule_id))
    return dict(row._mapping)
