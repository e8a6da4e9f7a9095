"""The business calendar: which days are business days, and where a due date falls.

A day is a business day unless it is a weekend day (configured weekdays, default Saturday and
Sunday) or a holiday. A working-day override makes a weekend day a business day (the make-up
working days, 调休, of Chinese bank calendars); a holiday on a weekend day changes nothing but
its name.

For a product that shifts due dates, an installment falls due on the first business day on or
after its contractual due date. When the calendar changes, an installment not yet due is moved
again, but never onto a day already reached: it falls due on the first business day on or after
both its contractual date and the first open day (the business date + 1).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import IntEnum, StrEnum

from postloan_repayment_monitor.domain.ledger import Scheduled

_DAY = timedelta(days=1)


class Weekday(IntEnum):
    """ISO weekday numbers, as date.isoweekday() and PostgreSQL's isodow give them."""

    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7


DEFAULT_WEEKEND = frozenset({Weekday.SATURDAY, Weekday.SUNDAY})


class DayKind(StrEnum):
    HOLIDAY = "holiday"  # not a business day, whatever its weekday
    WORKING_DAY = "working_day"  # a weekend day that is a business day


@dataclass(frozen=True)
class BusinessCalendar:
    weekend: frozenset[int] = DEFAULT_WEEKEND
    holidays: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()
    names: dict[date, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.weekend <= set(Weekday):
            raise ValueError("weekend days are ISO weekdays 1 (Monday) … 7 (Sunday)")
        if len(self.weekend) >= len(Weekday):
            raise ValueError("at least one weekday must be a business day")
        if self.holidays & self.working_days:
            raise ValueError("a day cannot be both a holiday and a working day")

    @classmethod
    def of(cls, *, weekend: Iterable[int], days: Iterable[tuple[date, DayKind, str]]) -> BusinessCalendar:
        """A calendar from its weekend days and its (day, kind, name) entries."""
        entries = list(days)
        return cls(
            weekend=frozenset(weekend),
            holidays=frozenset(d for d, kind, _ in entries if kind is DayKind.HOLIDAY),
            working_days=frozenset(d for d, kind, _ in entries if kind is DayKind.WORKING_DAY),
            names={d: name for d, _, name in entries},
        )

    def is_weekend(self, day: date) -> bool:
        return day.isoweekday() in self.weekend

    def is_business_day(self, day: date) -> bool:
        if day in self.holidays:
            return False
        return day in self.working_days or not self.is_weekend(day)

    def next_business_day(self, day: date) -> date:
        """The first business day on or after `day`."""
        # Terminates: holidays are finite and at least one weekday is not weekend.
        while not self.is_business_day(day):
            day += _DAY
        return day

    def due_date(self, contractual: date, *, not_before: date | None = None) -> date:
        """Where an installment due on `contractual` falls due, never before `not_before`."""
        return self.next_business_day(max(contractual, not_before) if not_before else contractual)

    def shifts(self, first: date, last: date) -> dict[date, date]:
        """Each non-business day from `first` to `last` (inclusive) → the business day it shifts to."""
        out: dict[date, date] = {}
        day = last
        following = self.next_business_day(last)
        while day >= first:
            if self.is_business_day(day):
                following = day
            else:
                out[day] = following
            day -= _DAY
        return out


def shift_schedule(schedule: Sequence[Scheduled], calendar: BusinessCalendar) -> list[Scheduled]:
    """The schedule with every due date on its next business day; amounts unchanged.

    Contractual dates strictly increase, shifted ones only never decrease: two installments
    separated by non-business days alone fall due on the same day.
    """
    return [replace(s, due_date=calendar.next_business_day(s.due_date)) for s in schedule]
