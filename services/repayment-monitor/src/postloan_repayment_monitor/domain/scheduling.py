"""When the automatic close of day runs, and which business days are due to be closed then.

At the configured local time T on local date L, every business day before L is closed. Before T
on L, business day L − 1 stays open (late postings for it still count), so only days before L − 1
are due; after an outage, every day that was missed is due at once.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def close_cutoff(*, now: datetime, close_at: time, zone: ZoneInfo) -> date:
    """The first local date not yet due for closing at `now`: every business day before it is due."""
    local = now.astimezone(zone)
    today = local.date()
    return today if local.time() >= close_at else today - timedelta(days=1)


def days_due(*, business_date: date, now: datetime, close_at: time, zone: ZoneInfo) -> list[date]:
    """The business days to close at `now`, oldest first (none when the calendar is ahead)."""
    cutoff = close_cutoff(now=now, close_at=close_at, zone=zone)
    return [business_date + timedelta(days=k) for k in range((cutoff - business_date).days)]


def next_run(*, now: datetime, close_at: time, zone: ZoneInfo) -> datetime:
    """The next instant (timezone-aware) after `now` at which the local clock shows `close_at`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(zone)
    day = local.date()
    while True:
        candidate = datetime.combine(day, close_at, tzinfo=zone)
        # A wall time inside a spring-forward gap resolves (fold=0) to the instant one gap later.
        if candidate.astimezone(ZoneInfo("UTC")) > now:
            return candidate
        day += timedelta(days=1)
