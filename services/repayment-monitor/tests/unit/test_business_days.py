"""The business calendar: next business day with weekends, holidays and working-day overrides.

Calendar used (February 2026; the 1st is a Sunday): a Spring Festival break from Sunday 02-15 to
Monday 02-23 as holidays, with the Saturdays 02-14 and 02-28 worked as make-up days (调休).
"""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from postloan_repayment_monitor.domain.business_days import BusinessCalendar, DayKind, Weekday, shift_schedule
from postloan_repayment_monitor.domain.ledger import Scheduled
from postloan_repayment_monitor.domain.schedule import generate
from postloan_repayment_monitor.settings import Settings

FESTIVAL = [(date(2026, 2, 15) + timedelta(days=k), DayKind.HOLIDAY, "Spring Festival") for k in range(9)]
MAKE_UP = [(date(2026, 2, 14), DayKind.WORKING_DAY, "make-up"), (date(2026, 2, 28), DayKind.WORKING_DAY, "make-up")]
CHINA = BusinessCalendar.of(weekend={Weekday.SATURDAY, Weekday.SUNDAY}, days=[*FESTIVAL, *MAKE_UP])
PLAIN = BusinessCalendar()


def test_weekends_move_to_monday_and_weekdays_stay():
    assert date(2026, 2, 7).isoweekday() == 6
    assert PLAIN.next_business_day(date(2026, 2, 6)) == date(2026, 2, 6)  # Friday
    assert PLAIN.next_business_day(date(2026, 2, 7)) == date(2026, 2, 9)  # Saturday → Monday
    assert PLAIN.next_business_day(date(2026, 2, 8)) == date(2026, 2, 9)  # Sunday → Monday


def test_a_run_of_holidays_moves_to_the_first_day_after_it():
    for day in (date(2026, 2, 15), date(2026, 2, 16), date(2026, 2, 21), date(2026, 2, 23)):
        assert CHINA.next_business_day(day) == date(2026, 2, 24)
    assert not CHINA.is_business_day(date(2026, 2, 16))  # a Monday
    assert CHINA.is_business_day(date(2026, 2, 24))


def test_working_day_overrides_make_a_saturday_a_business_day():
    assert CHINA.next_business_day(date(2026, 2, 14)) == date(2026, 2, 14)
    assert CHINA.next_business_day(date(2026, 2, 28)) == date(2026, 2, 28)
    # The Sunday after a worked Saturday is still weekend.
    assert CHINA.next_business_day(date(2026, 3, 1)) == date(2026, 3, 2)
    assert PLAIN.next_business_day(date(2026, 2, 28)) == date(2026, 3, 2)


def test_a_holiday_on_a_weekend_day_changes_nothing_but_its_name():
    sunday = date(2026, 3, 8)
    named = BusinessCalendar.of(weekend=PLAIN.weekend, days=[(sunday, DayKind.HOLIDAY, "Women's Day")])
    assert [named.is_business_day(sunday + timedelta(days=k)) for k in range(-3, 4)] == [
        PLAIN.is_business_day(sunday + timedelta(days=k)) for k in range(-3, 4)
    ]
    assert named.names[sunday] == "Women's Day"


def test_the_weekend_is_configurable():
    gulf = BusinessCalendar(weekend=frozenset({Weekday.FRIDAY, Weekday.SATURDAY}))
    assert gulf.next_business_day(date(2026, 2, 6)) == date(2026, 2, 8)  # Friday → Sunday
    assert gulf.is_business_day(date(2026, 2, 8))
    none = BusinessCalendar(weekend=frozenset())
    assert none.next_business_day(date(2026, 2, 7)) == date(2026, 2, 7)


def test_due_date_is_never_before_the_first_open_day():
    # Contract date 02-13 (Friday, a business day) but the 14th is already reached: the 14th is worked.
    assert CHINA.due_date(date(2026, 2, 13), not_before=date(2026, 2, 14)) == date(2026, 2, 14)
    # Contract date in the festival, first open day the 22nd: still the 24th.
    assert CHINA.due_date(date(2026, 2, 16), not_before=date(2026, 2, 22)) == date(2026, 2, 24)
    assert CHINA.due_date(date(2026, 3, 2), not_before=date(2026, 2, 22)) == date(2026, 3, 2)


def test_shifts_maps_each_non_business_day_to_its_next_business_day():
    first, last = date(2026, 2, 1), date(2026, 3, 31)
    shifts = CHINA.shifts(first, last)
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    assert set(shifts) == {d for d in days if not CHINA.is_business_day(d)}
    assert all(shifts[d] == CHINA.next_business_day(d) for d in shifts)
    assert shifts[date(2026, 2, 15)] == date(2026, 2, 24)
    assert date(2026, 2, 14) not in shifts and date(2026, 2, 28) not in shifts
    # A range ending on a non-business day still maps it past the range.
    assert CHINA.shifts(date(2026, 2, 21), date(2026, 2, 22)) == {
        date(2026, 2, 21): date(2026, 2, 24),
        date(2026, 2, 22): date(2026, 2, 24),
    }
    assert CHINA.shifts(last, first) == {}


def test_a_shifted_schedule_keeps_its_amounts():
    # Annuity of 3,000.00 at 12% over 4 months, due on the 14th: Feb 14 is a worked Saturday,
    # Mar 14 a Saturday (→ Mon Mar 16), Apr 14 a Tuesday, May 14 a Thursday.
    contractual = [
        Scheduled(r.seq, r.due_date, r.principal, r.interest, r.fee)
        for r in generate(
            method="annuity",
            principal=D("3000.00"),
            annual_rate=D("0.12"),
            disbursed_on=date(2026, 1, 14),
            first_due_date=date(2026, 2, 14),
            months=4,
        )
    ]
    shifted = shift_schedule(contractual, CHINA)
    assert [s.due_date for s in shifted] == [date(2026, 2, 14), date(2026, 3, 16), date(2026, 4, 14), date(2026, 5, 14)]
    assert [(s.seq, s.principal, s.interest, s.fee) for s in shifted] == [
        (s.seq, s.principal, s.interest, s.fee) for s in contractual
    ]
    assert contractual[1].due_date == date(2026, 3, 14)  # the input is left as it was
    assert shift_schedule(contractual, PLAIN)[0].due_date == date(2026, 2, 16)


def test_installments_separated_only_by_non_business_days_fall_due_together():
    schedule = [
        Scheduled(1, date(2026, 2, 16), D("100.00"), D("1.00")),
        Scheduled(2, date(2026, 2, 20), D("100.00"), D("1.00")),
        Scheduled(3, date(2026, 2, 24), D("100.00"), D("1.00")),
    ]
    assert [s.due_date for s in shift_schedule(schedule, CHINA)] == [date(2026, 2, 24)] * 3


def test_calendars_that_cannot_work_are_refused():
    with pytest.raises(ValueError, match="at least one weekday"):
        BusinessCalendar(weekend=frozenset(Weekday))
    with pytest.raises(ValueError, match="ISO weekdays"):
        BusinessCalendar(weekend=frozenset({0}))
    with pytest.raises(ValueError, match="both"):
        BusinessCalendar(holidays=frozenset({date(2026, 2, 14)}), working_days=frozenset({date(2026, 2, 14)}))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, {Weekday.SATURDAY, Weekday.SUNDAY}),
        ("friday, Saturday", {Weekday.FRIDAY, Weekday.SATURDAY}),
        ('["sunday"]', {Weekday.SUNDAY}),
        ("", set()),
    ],
)
def test_weekend_days_come_from_settings(monkeypatch: pytest.MonkeyPatch, value: str | None, expected: set[int]):
    if value is None:
        monkeypatch.delenv("REPAYMENT_MONITOR_WEEKEND_DAYS", raising=False)
    else:
        monkeypatch.setenv("REPAYMENT_MONITOR_WEEKEND_DAYS", value)
    assert Settings().weekend() == expected


def test_settings_refuse_a_week_without_business_days(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("REPAYMENT_MONITOR_WEEKEND_DAYS", "monday,tuesday,wednesday,thursday,friday,saturday,sunday")
    with pytest.raises(ValueError, match="at least one weekday"):
        Settings()
    monkeypatch.setenv("REPAYMENT_MONITOR_WEEKEND_DAYS", "caturday")
    with pytest.raises(ValueError):
        Settings()
