"""Scheduled management reports: a schedule per list of recipients, a run per closed month (issue 17).

At least once: a month's run is recorded in the transaction that holds the schedule's lock while it
renders and sends, so a crash between the e-mail and the commit sends that month again.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postloan_common.logging import get_logger
from postloan_reporting.adapters.mail import Mail, Mailer
from postloan_reporting.domain.model import month_end, month_start
from postloan_reporting.domain.schedules import months_due
from postloan_reporting.render.content import summary
from postloan_reporting.render.formats import MEDIA, RENDERERS, filename
from postloan_reporting.render.i18n import label
from postloan_reporting.service import audit, snapshots
from postloan_reporting.service.effectiveness import Costs
from postloan_reporting.service.management import management_report
from postloan_reporting.service.reports import Filters
from postloan_reporting.store import schedules as store
from postloan_reporting.store.tables import report_schedules

log = get_logger(__name__)


class ScheduleConflict(ValueError):
    """A schedule of that id exists with other choices."""


async def create_schedule(
    session: AsyncSession, *, chosen: dict[str, Any], schedule_id: str, actor: str, correlation_id: str | None = None
) -> tuple[dict[str, Any], bool]:
    """Create a schedule (True, audited) or return the same one created before (False); another one's id: conflict."""
    latest = await snapshots.latest_closed_day(session)
    opening = month_start(datetime.now(UTC).date() if latest is None else latest + timedelta(days=1))
    values = {"schedule_id": schedule_id, **chosen, "first_month": opening, "created_by": actor}
    created = await store.insert_schedule(session, values=values)
    row = await store.schedule(session, schedule_id=schedule_id)
    assert row is not None
    if not created and any(row[name] != chosen[name] for name in store.CHOSEN):
        raise ScheduleConflict(f"schedule {schedule_id} exists with other recipients, language, format or filters")
    if created:
        await audit.record(
            session,
            actor=actor,
            action="report_schedule.create",
            subject=schedule_id,
            details=_plain(chosen) | {"first_month": opening.isoformat()},
            correlation_id=correlation_id,
        )
    return row, created


def _plain(chosen: dict[str, Any]) -> dict[str, Any]:
    # Recipients are addresses of the bank's own lists: kept in the audit like the schedule keeps them.
    return {name: list(value) if isinstance(value, list | tuple) else value for name, value in chosen.items()}


async def list_schedules(session: AsyncSession, *, after: str | None, limit: int) -> list[dict[str, Any]]:
    """A page of schedules by id, each with its latest run's status."""
    return await store.schedule_page(session, after=after, limit=limit)


async def delete_schedule(
    session: AsyncSession, *, schedule_id: str, actor: str, correlation_id: str | None = None
) -> bool:
    """Delete a schedule and its runs (audited); False when there was none."""
    row = await store.delete_schedule(session, schedule_id=schedule_id)
    if row is None:
        return False
    kept = {name: row[name] for name in store.CHOSEN} | {"first_month": row["first_month"].isoformat()}
    await audit.record(
        session,
        actor=actor,
        action="report_schedule.delete",
        subject=schedule_id,
        details=_plain(kept),
        correlation_id=correlation_id,
    )
    return True


async def schedule_view(session: AsyncSession, *, schedule_id: str) -> dict[str, Any] | None:
    """A schedule with its runs, or None."""
    row = await store.schedule(session, schedule_id=schedule_id)
    if row is None:
        return None
    return row | {"runs": await store.runs(session, schedule_id=schedule_id)}


async def _mail_of(session: AsyncSession, row: dict[str, Any], as_of: date, costs: Costs) -> Mail:
    filters = Filters(row["product"], row["branch"])
    report = await management_report(session, as_of=as_of, filters=filters, costs=costs)
    lang, format = row["lang"], row["format"]
    content = await asyncio.to_thread(RENDERERS[format], report, lang)  # CPU-bound: off the loop
    return Mail(
        recipients=tuple(row["recipients"]),
        subject=f"{label('title', lang)} {as_of.isoformat()}",
        text="\n".join(summary(report, lang)),
        filename=filename(report, lang, format),
        content=content,
        media_type=MEDIA[format],
    )


async def _send_months(
    session: AsyncSession, row: dict[str, Any], *, latest: date | None, mailer: Mailer, costs: Costs
) -> int:
    runs = store.run_states(await store.runs(session, schedule_id=row["schedule_id"]))
    sent = 0
    for month in months_due(first_month=row["first_month"], latest_closed=latest, runs=runs):
        as_of, error = month_end(month), None
        try:
            await mailer.send(await _mail_of(session, row, as_of, costs))
            sent += 1
        except Exception as exc:  # recorded on the run and retried on a later pass
            error = f"{type(exc).__name__}: {exc}"
            # Only the type in the log: an SMTP refusal names the addresses, which stay in the run record.
            log.warning(
                "scheduled report not sent", schedule_id=row["schedule_id"], month=str(month), error=type(exc).__name__
            )
        await store.record_run(session, schedule_id=row["schedule_id"], month=month, as_of=as_of, error=error)
    return sent


async def send_due(sessions: async_sessionmaker[AsyncSession], *, mailer: Mailer, costs: Costs) -> int:
    """Render and e-mail every closed month each schedule has still to send (effectiveness at `costs`); how many."""
    async with sessions() as session:
        ids = [row["schedule_id"] for row in await store.schedules(session)]
    sent = 0
    for schedule_id in ids:
        async with sessions.begin() as session:
            locked = await session.execute(
                select(report_schedules)
                .where(report_schedules.c.schedule_id == schedule_id)
                .with_for_update(skip_locked=True)
            )
            row = locked.first()
            if row is None:  # another worker is sending it
                continue
            latest = await snapshots.latest_closed_day(session)
            sent += await _send_months(session, dict(row._mapping), latest=latest, mailer=mailer, costs=costs)
    return sent


async def send_forever(
    sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event, *, mailer: Mailer, every_s: float, costs: Costs
) -> None:
    """The worker's task: send what is due every `every_s` seconds until stopped."""
    while not stop.is_set():
        try:
            if sent := await send_due(sessions, mailer=mailer, costs=costs):
                log.info("scheduled reports sent", count=sent)
        except Exception:
            log.exception("scheduled reports failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
