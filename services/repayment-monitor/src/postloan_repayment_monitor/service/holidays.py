"""The calendar's holidays and working-day overrides, and moving due dates when they change.

Every change to the calendar or to a product's `shift_due_dates` re-shifts, in one set-based
UPDATE, the installments it can move: unsettled, not yet due (due after the business date D),
of active loans. Each falls due on `BusinessCalendar.due_date(contractual, not_before=D + 1)`
when its product shifts and on max(contractual, D + 1) when it does not, so nothing moves onto a
day already reached; grace_ends_on moves with it and a loan whose oldest unpaid installment
moved gets its new oldest_unpaid_due. Installments already paid keep their date.

Callers hold the business date row FOR UPDATE (`business_date(..., lock="update")`): calendar
changes are serialised with each other, with close of day and with every booking and posting.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.audit import changes
from postloan_repayment_monitor.domain.business_days import BusinessCalendar, DayKind, shift_schedule
from postloan_repayment_monitor.domain.ledger import Scheduled
from postloan_repayment_monitor.service import audit
from postloan_repayment_monitor.store import calendar as store

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class CalendarDay:
    day: date
    kind: DayKind
    name: str
    updated_at: datetime | None = None
    updated_by: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "kind": self.kind.value,
            "name": self.name,
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
        }


def _day_of(row: Any) -> CalendarDay:
    return CalendarDay(row.day, DayKind(row.kind), row.name, row.updated_at, row.updated_by)


async def load_calendar(session: AsyncSession, *, weekend: Iterable[int]) -> BusinessCalendar:
    """The whole calendar: the weekend days with every holiday and working-day override."""
    rows = await store.calendar_rows(session)
    return BusinessCalendar.of(weekend=weekend, days=((r.day, DayKind(r.kind), r.name) for r in rows))


async def shifting_products(session: AsyncSession, codes: Iterable[str]) -> set[str]:
    """The products among `codes` whose due dates shift to business days."""
    wanted = set(codes)
    if not wanted:
        return set()
    return await store.shifting_products(session, codes=wanted)


async def on_business_days(
    session: AsyncSession, *, product: str, schedule: list[Scheduled], weekend: frozenset[int]
) -> list[Scheduled]:
    """`schedule` with its due dates shifted to business days when `product` shifts them, else as it is."""
    if not await shifting_products(session, [product]):
        return schedule
    return shift_schedule(schedule, await load_calendar(session, weekend=weekend))


async def list_days(
    session: AsyncSession, *, start: date | None, end: date | None, after: date | None, limit: int
) -> tuple[list[CalendarDay], date | None]:
    """Calendar entries from `start` to `end` (inclusive) after `after`; the last day listed when there is more."""
    rows = await store.day_page(session, start=start, end=end, after=after, limit=limit + 1)
    items = [_day_of(r) for r in rows[:limit]]
    return items, items[-1].day if len(rows) > limit else None


def non_business_days(calendar: BusinessCalendar, *, start: date, end: date) -> list[dict[str, Any]]:
    """Each non-business day from `start` to `end`, why, and the day a due date on it moves to."""
    shifts = calendar.shifts(start, end)
    return [
        {
            "day": day,
            "reason": DayKind.HOLIDAY.value if day in calendar.holidays else "weekend",
            "name": calendar.names.get(day, ""),
            "shifts_to": shifts[day],
        }
        for day in sorted(shifts)
    ]


class NotAWeekendDay(ValueError):
    """A working-day override was asked for a day that is a business day by its weekday."""


@dataclass(frozen=True)
class DayChange:
    entry: CalendarDay | None  # the entry written or removed; None when there was none to remove
    created: bool
    reshifted: int


async def put_day(
    session: AsyncSession,
    *,
    day: date,
    kind: DayKind,
    name: str,
    business_date: date,
    weekend: frozenset[int],
    actor: str,
    correlation_id: str | None,
) -> DayChange:
    """Add or replace the entry for `day`, re-shift what it moves and audit it (caller's transaction)."""
    if kind is DayKind.WORKING_DAY and day.isoweekday() not in weekend:
        raise NotAWeekendDay(f"{day} is a business day by its weekday; only a weekend day can be made a working day")
    before = await load_calendar(session, weekend=weekend)
    old = await store.day_row(session, day=day, lock=True)
    old_day = _day_of(old) if old is not None else None
    if old_day is not None and (old_day.kind, old_day.name) == (kind, name):
        return DayChange(old_day, created=False, reshifted=0)
    row = await store.upsert_day(session, day=day, kind=kind.value, name=name, actor=actor)
    after = await load_calendar(session, weekend=weekend)
    moved = await reshift_around(session, day=day, before=before, after=after, business_date=business_date)
    was = {"kind": old_day.kind.value, "name": old_day.name} if old_day else None
    now = {"kind": kind.value, "name": name}
    await audit.record(
        session,
        actor=actor,
        action="calendar.day.put",
        subject=day.isoformat(),
        details={"old": was, "new": now, "changes": changes(was, now), "reshifted": moved},
        correlation_id=correlation_id,
    )
    return DayChange(_day_of(row), created=old is None, reshifted=moved)


async def delete_day(
    session: AsyncSession,
    *,
    day: date,
    business_date: date,
    weekend: frozenset[int],
    actor: str,
    correlation_id: str | None,
) -> DayChange:
    """Remove the entry for `day` (entry None when there is none), re-shift and audit."""
    before = await load_calendar(session, weekend=weekend)
    old = await store.delete_day(session, day=day)
    if old is None:
        return DayChange(None, created=False, reshifted=0)
    after = await load_calendar(session, weekend=weekend)
    moved = await reshift_around(session, day=day, before=before, after=after, business_date=business_date)
    await audit.record(
        session,
        actor=actor,
        action="calendar.day.delete",
        subject=day.isoformat(),
        details={"old": {"kind": old.kind, "name": old.name}, "reshifted": moved},
        correlation_id=correlation_id,
    )
    return DayChange(_day_of(old), created=False, reshifted=moved)


def _arrays(calendar: BusinessCalendar, first: date, last: date) -> tuple[list[date], list[date]]:
    shifts = calendar.shifts(first, last) if first <= last else {}
    return list(shifts), list(shifts.values())


async def reshift_around(
    session: AsyncSession, *, day: date, before: BusinessCalendar, after: BusinessCalendar, business_date: date
) -> int:
    """Re-shift the installments that a change of `day` from `before` to `after` moves; how many moved.

    Only one old due date can be affected: an installment moves when the search for its business
    day passes through `day`, so its contractual date is at most `day`, every day from it up to
    `day` is not a business day, and it fell due on the first business day on or after `day`
    under `before`. The partial index on open due dates finds those directly.
    """
    first_open = business_date + _DAY
    if day < first_open or before.is_business_day(day) == after.is_business_day(day):
        return 0
    old_due = before.next_business_day(day)
    days, next_days = _arrays(after, first_open, day)
    return await store.reshift_around(
        session, first_open=first_open, days=days, next_days=next_days, old_due=old_due, day=day
    )


async def reshift_product(session: AsyncSession, *, product: str, business_date: date, weekend: frozenset[int]) -> int:
    """Re-shift every installment of `product`'s loans that can move (after its shift flag changed)."""
    first_open = business_date + _DAY
    # Shifting never moves a date earlier, so no contractual date is later than the latest open due date.
    last = await store.last_open_due_date(session, first_open=first_open)
    if last is None:
        return 0
    days, next_days = _arrays(await load_calendar(session, weekend=weekend), first_open, last)
    return await store.reshift_product(session, first_open=first_open, days=days, next_days=next_days, product=product)
