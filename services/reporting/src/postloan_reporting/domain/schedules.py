"""When a scheduled monthly management report is due.

A month is reported once it is closed: once the latest closed business day is on or after its last
day. A schedule reports every closed month from the one open when it was created, each once; a
month whose e-mail failed is tried again, at most `MAX_ATTEMPTS` times in all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from postloan_reporting.domain.model import add_months, month_end, month_start

MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class RunState:
    """What the record of one month's run says."""

    sent: bool
    attempts: int


def months_due(*, first_month: date, latest_closed: date | None, runs: Mapping[date, RunState]) -> list[date]:
    """The first days of the closed months still to report, oldest first."""
    if latest_closed is None:
        return []
    due = []
    month = month_start(first_month)
    while month_end(month) <= latest_closed:
        run = runs.get(month)
        if run is None or (not run.sent and run.attempts < MAX_ATTEMPTS):
            due.append(month)
        month = add_months(month, 1)
    return due
