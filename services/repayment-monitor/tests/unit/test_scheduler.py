"""Which business days the automatic close of day closes, and when it runs next."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from postloan_repayment_monitor.domain.scheduling import close_cutoff, days_due, next_run

SHANGHAI = ZoneInfo("Asia/Shanghai")  # UTC+8, no DST
NEW_YORK = ZoneInfo("America/New_York")
AT_0030 = time(0, 30)


def shanghai(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def test_before_the_close_time_yesterday_stays_open():
    now = shanghai(2026, 3, 6, 0, 29)
    assert close_cutoff(now=now, close_at=AT_0030, zone=SHANGHAI) == date(2026, 3, 5)
    assert days_due(business_date=date(2026, 3, 5), now=now, close_at=AT_0030, zone=SHANGHAI) == []


def test_at_the_close_time_every_day_before_today_is_due():
    now = shanghai(2026, 3, 6, 0, 30)
    assert days_due(business_date=date(2026, 3, 5), now=now, close_at=AT_0030, zone=SHANGHAI) == [date(2026, 3, 5)]


def test_after_an_outage_every_missed_day_is_due_in_order():
    now = shanghai(2026, 3, 9, 12, 0)
    assert days_due(business_date=date(2026, 3, 5), now=now, close_at=AT_0030, zone=SHANGHAI) == [
        date(2026, 3, 5),
        date(2026, 3, 6),
        date(2026, 3, 7),
        date(2026, 3, 8),
    ]


def test_a_calendar_ahead_of_the_clock_closes_nothing():
    now = shanghai(2026, 3, 6, 23, 0)
    assert days_due(business_date=date(2026, 3, 8), now=now, close_at=AT_0030, zone=SHANGHAI) == []
    assert days_due(business_date=date(2026, 3, 6), now=now, close_at=AT_0030, zone=SHANGHAI) == []


def test_the_local_date_decides_not_the_utc_date():
    # 2026-03-05 16:45 UTC is 2026-03-06 00:45 in Shanghai: the 5th is due there already.
    now = datetime(2026, 3, 5, 16, 45, tzinfo=UTC)
    assert close_cutoff(now=now, close_at=AT_0030, zone=SHANGHAI) == date(2026, 3, 6)
    # …while in New York it is the 5th, 11:45: only the days before the 5th.
    assert close_cutoff(now=now, close_at=AT_0030, zone=NEW_YORK) == date(2026, 3, 5)


def test_late_evening_close_time():
    at_2300 = time(23, 0)
    assert close_cutoff(now=shanghai(2026, 3, 6, 22, 59), close_at=at_2300, zone=SHANGHAI) == date(2026, 3, 5)
    assert close_cutoff(now=shanghai(2026, 3, 6, 23, 0), close_at=at_2300, zone=SHANGHAI) == date(2026, 3, 6)


def test_next_run_is_today_or_tomorrow_at_the_local_time():
    assert next_run(now=shanghai(2026, 3, 6, 0, 10), close_at=AT_0030, zone=SHANGHAI) == shanghai(2026, 3, 6, 0, 30)
    assert next_run(now=shanghai(2026, 3, 6, 0, 30), close_at=AT_0030, zone=SHANGHAI) == shanghai(2026, 3, 7, 0, 30)
    utc = next_run(now=datetime(2026, 3, 5, 12, 0, tzinfo=UTC), close_at=AT_0030, zone=SHANGHAI).astimezone(UTC)
    assert utc == datetime(2026, 3, 5, 16, 30, tzinfo=UTC)


def test_next_run_across_us_daylight_saving_changes():
    # 2026-03-08: clocks go 02:00 EST → 03:00 EDT; 2026-11-01: 02:00 EDT → 01:00 EST.
    before_spring = datetime(2026, 3, 7, 12, 0, tzinfo=NEW_YORK)
    spring = next_run(now=before_spring, close_at=time(1, 0), zone=NEW_YORK).astimezone(UTC)
    assert spring == datetime(2026, 3, 8, 6, 0, tzinfo=UTC)  # 01:00 EST
    after = next_run(now=spring, close_at=time(1, 0), zone=NEW_YORK).astimezone(UTC)
    assert after == datetime(2026, 3, 9, 5, 0, tzinfo=UTC)  # 01:00 EDT: 23 hours later
    in_gap = next_run(now=before_spring, close_at=time(2, 30), zone=NEW_YORK).astimezone(UTC)
    assert in_gap == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 02:30 does not exist: 03:30 EDT
    autumn = next_run(now=datetime(2026, 10, 31, 12, 0, tzinfo=NEW_YORK), close_at=time(3, 0), zone=NEW_YORK)
    assert autumn.astimezone(UTC) == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)  # 03:00 EST (UTC−5) after the fall back


def test_us_zone_cutoff_follows_local_wall_clock_through_dst():
    at_0030 = time(0, 30)
    # 00:40 EDT on 2026-03-09 is 04:40 UTC; 00:40 EST on 2026-03-07 is 05:40 UTC.
    assert close_cutoff(now=datetime(2026, 3, 9, 4, 40, tzinfo=UTC), close_at=at_0030, zone=NEW_YORK) == date(
        2026, 3, 9
    )
    assert close_cutoff(now=datetime(2026, 3, 7, 5, 20, tzinfo=UTC), close_at=at_0030, zone=NEW_YORK) == date(
        2026, 3, 6
    )


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        next_run(now=datetime(2026, 3, 6, 0, 0), close_at=AT_0030, zone=SHANGHAI)
