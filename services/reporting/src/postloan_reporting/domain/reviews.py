"""Post-loan review (贷后检查) figures per branch.

Of the reviews falling due in a period (due date from its first day to the as-of day):
- completion rate = those completed by the as-of day ÷ those due;
- on-time rate = those completed on or before their due date ÷ those due.
Overdue reviews are those still open at the end of the as-of day whose due date has passed
(whenever they fell due), on loans still alive.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from decimal import Decimal

from postloan_reporting.domain.ratios import ratio


@dataclass(frozen=True, slots=True)
class ReviewCounts:
    """Review counts of one branch (or all) as read from the store."""

    branch: str
    due: int = 0  # falling due in the period
    completed: int = 0  # of those, completed by the as-of day
    on_time: int = 0  # of those, completed on or before the due date
    overdue: int = 0  # open and past due at the end of the as-of day


@dataclass(frozen=True, slots=True)
class ReviewSlice(ReviewCounts):
    """The counts of a branch ("all" for the total) with their rates."""

    completion_rate: Decimal | None = None
    on_time_rate: Decimal | None = None


COUNTS = ("due", "completed", "on_time", "overdue")


def review_slice(counts: ReviewCounts) -> ReviewSlice:
    """The completion and on-time rates of one branch's reviews (None when none fell due)."""
    completion, on_time = ratio(counts.completed, counts.due), ratio(counts.on_time, counts.due)
    return ReviewSlice(**asdict(counts), completion_rate=completion, on_time_rate=on_time)


def review_total(branches: Iterable[ReviewCounts]) -> ReviewSlice:
    """The figures of all branches together."""
    items = list(branches)
    return review_slice(ReviewCounts("all", *(sum(getattr(b, name) for b in items) for name in COUNTS)))
