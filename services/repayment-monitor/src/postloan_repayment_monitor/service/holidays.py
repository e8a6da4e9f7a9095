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

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.db import driver_connection
from postloan_repayment_monitor.domain.business_days import BusinessCalendar, DayKind, shift_schedule
from postloan_repayment_monitor.domain.ledger import Scheduled
from postloan_repayment_monitor.service import audit
from postloan_repayment_monitor.store.tables import calendar_days, products

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
    rows = (await session.execute(select(calendar_days.c.day, calendar_days.c.kind, calendar_days.c.name))).all()
    return BusinessCalendar.of(weekend=weekend, days=((r.day, DayKind(r.kind), r.name) for r in rows))


async def shifting_products(session: AsyncSession, codes: Iterable[str]) -> set[str]:
    """The products among `codes` whose due dates shift to business days."""
    wanted = set(codes)
    if not wanted:
        return set()
    query = select(products.c.code).where(products.c.code.in_(wanted), products.c.shift_due_dates)
    return set((await session.execute(query)).scalars().all())


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
    query = select(calendar_days).order_by(calendar_days.c.day).limit(limit + 1)
    if start is not None:
        query = query.where(calendar_days.c.day >= start)
    if end is not None:
        query = query.where(calendar_days.c.day <= end)
    if after is not None:
        query = query.where(calendar_days.c.day > after)
    rows = (await session.execute(query)).all()
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
    old = (await session.execute(select(calendar_days).where(calendar_days.c.day == day).with_for_update())).first()
    old_day = _day_of(old) if old is not None else None
    if old_day is not None and (old_day.kind, old_day.name) == (kind, name):
        return DayChange(old_day, created=False, reshifted=0)
    values = {"kind": kind.value, "name": name, "updated_at": func.now(), "updated_by": actor}
    row = (
        await session.execute(
            insert(calendar_days)
            .values(day=day, **values)
            .on_conflict_do_update(index_elements=[calendar_days.c.day], set_=values)
            .returning(calendar_days)
        )
    ).one()
    after = await load_calendar(session, weekend=weekend)
    moved = await reshift_around(session, day=day, before=before, after=after, business_date=business_date)
    await audit.record(
        session,
        actor=actor,
        action="calendar.day.put",
        subject=day.isoformat(),
        details={
            "old": {"kind": old_day.kind.value, "name": old_day.name} if old_day else None,
            "new": {"kind": kind.value, "name": name},
            "reshifted": moved,
        },
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
    old = (
        await session.execute(delete(calendar_days).where(calendar_days.c.day == day).returning(calendar_days))
    ).first()
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


# $1 the first open day (D + 1); $2, $3 the calendar's non-business days and the day each shifts to.
# {scope} and {where} narrow the installments considered; {oldest} gives each loan of a moved
# installment its oldest open due date. Only rows whose date changes are joined back and updated.
_RESHIFT = """
WITH target AS (
    SELECT i.loan_id, i.seq, i.due_date, i.contract_due_date, coalesce(i.contract_due_date, i.due_date) AS contractual,
           greatest(coalesce(i.contract_due_date, i.due_date), $1::date) AS earliest,
           coalesce(p.shift_due_dates, false) AS shifts, l.grace_days
    FROM installments i
    JOIN loans l ON l.loan_id = i.loan_id
    {scope}
    WHERE i.settled_on IS NULL AND i.due_date >= $1::date AND l.status = 'active' {where}
),
placed AS (
    SELECT t.loan_id, t.seq, t.grace_days, t.due_date AS was, d.due, nullif(t.contractual, d.due) AS contract_due_date,
           t.contract_due_date IS DISTINCT FROM nullif(t.contractual, d.due) AS contract_changes
    FROM target t
    LEFT JOIN unnest($2::date[], $3::date[]) AS s(day, next_day) ON t.shifts AND s.day = t.earliest
    CROSS JOIN LATERAL (SELECT coalesce(s.next_day, t.earliest) AS due) d
),
moved AS (
    UPDATE installments i SET due_date = p.due, grace_ends_on = p.due + p.grace_days,
        contract_due_date = p.contract_due_date
    FROM (SELECT * FROM placed WHERE was <> due OR contract_changes) p
    WHERE i.loan_id = p.loan_id AND i.seq = p.seq
    RETURNING i.loan_id, i.seq, i.due_date
),
oldest AS ({oldest}),
loans_moved AS (
    UPDATE loans l SET oldest_unpaid_due = o.due, updated_at = now()
    FROM oldest o
    WHERE l.loan_id = o.loan_id AND l.oldest_unpaid_due >= $1::date AND l.oldest_unpaid_due <> o.due
    RETURNING 1
)
SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM loans_moved)
"""

# A calendar change moves only installments of shifting products whose due date is the day the
# changed day's run of non-business days ended on before the change (see reshift_around). Their
# loans are few: their open installments are read again, with the moved ones' new dates (the
# statement's other parts see installments as they were before it).
_AROUND_SCOPE = "JOIN products p ON p.code = l.product AND p.shift_due_dates"
_AROUND_WHERE = "AND i.due_date = $4::date AND coalesce(i.contract_due_date, i.due_date) <= $5::date"
_AROUND_OLDEST = """
    SELECT i.loan_id, min(coalesce(m.due_date, i.due_date)) AS due
    FROM installments i LEFT JOIN moved m ON m.loan_id = i.loan_id AND m.seq = i.seq
    WHERE i.settled_on IS NULL AND i.loan_id IN (SELECT loan_id FROM moved)
    GROUP BY i.loan_id
"""
# A product's loans: every open installment of a loan not yet past due is in `placed`.
_PRODUCT_SCOPE = "LEFT JOIN products p ON p.code = l.product"
_PRODUCT_WHERE = "AND l.product = $4::text"
_PRODUCT_OLDEST = "SELECT loan_id, min(due) AS due FROM placed GROUP BY loan_id"


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
    conn = await driver_connection(session)
    statement = _RESHIFT.format(scope=_AROUND_SCOPE, where=_AROUND_WHERE, oldest=_AROUND_OLDEST)
    moved, _loans = await conn.fetchrow(statement, first_open, days, next_days, old_due, day)
    return int(moved)


async def reshift_product(session: AsyncSession, *, product: str, business_date: date, weekend: frozenset[int]) -> int:
    """Re-shift every installment of `product`'s loans that can move (after its shift flag changed)."""
    first_open = business_date + _DAY
    conn = await driver_connection(session)
    # Shifting never moves a date earlier, so no contractual date is later than the latest open due date.
    last = await conn.fetchval(
        "SELECT max(due_date) FROM installments WHERE settled_on IS NULL AND due_date >= $1::date", first_open
    )
    if last is None:
        return 0
    days, next_days = _arrays(await load_calendar(session, weekend=weekend), first_open, last)
    statement = _RESHIFT.format(scope=_PRODUCT_SCOPE, where=_PRODUCT_WHERE, oldest=_PRODUCT_OLDEST)
    moved, _loans = await conn.fetchrow(statement, first_open, days, next_days, product)
    return int(moved)
