"""When a scheduled monthly report is due: closed months from the first, each once, failures retried."""

from __future__ import annotations

from datetime import date

from postloan_reporting.domain.schedules import MAX_ATTEMPTS, RunState, months_due

JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


def test_a_month_is_due_once_its_last_day_is_closed() -> None:
    assert months_due(first_month=JAN, latest_closed=None, runs={}) == []
    assert months_due(first_month=JAN, latest_closed=date(2026, 1, 30), runs={}) == []
    assert months_due(first_month=JAN, latest_closed=date(2026, 1, 31), runs={}) == [JAN]
    assert months_due(first_month=JAN, latest_closed=date(2026, 3, 30), runs={}) == [JAN, FEB]


def test_a_sent_month_is_not_sent_again_and_a_failed_one_is_retried_a_few_times() -> None:
    runs = {JAN: RunState(sent=True, attempts=1), FEB: RunState(sent=False, attempts=1)}
    assert months_due(first_month=JAN, latest_closed=date(2026, 3, 31), runs=runs) == [FEB, MAR]
    runs[FEB] = RunState(sent=False, attempts=MAX_ATTEMPTS)
    assert months_due(first_month=JAN, latest_closed=date(2026, 3, 31), runs=runs) == [MAR]


def test_months_before_the_schedule_are_not_reported() -> None:
    assert months_due(first_month=date(2026, 2, 14), latest_closed=date(2026, 3, 31), runs={}) == [FEB, MAR]
