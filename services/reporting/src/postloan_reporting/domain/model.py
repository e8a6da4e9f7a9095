"""Buckets, classification ranks and the DPD floor shared by every report."""

from __future__ import annotations

from datetime import date

# Default ranges (docs/domain.md): M0 current, M1 1–30, …, M6 151–180, M6+ over 180 (upper bounds inclusive).
BUCKETS: tuple[str, ...] = ("M0", "M1", "M2", "M3", "M4", "M5", "M6", "M6+")
BUCKET_UPPER: tuple[int, ...] = (0, 30, 60, 90, 120, 150, 180)
CLOSED = "closed"

CLASSIFICATIONS: tuple[str, ...] = ("normal", "special_mention", "substandard", "doubtful", "loss")
NPL_RANKS = frozenset({2, 3, 4})
# The DPD floor (docs/domain.md) that judgement can only worsen:
# any overdue → 关注, >90 → 次级, >270 → 可疑, >360 → 损失.
FLOOR_THRESHOLDS: tuple[tuple[int, int], ...] = ((360, 4), (270, 3), (90, 2), (0, 1))


def bucket_index(dpd: int) -> int:
    """Index into BUCKETS of a DPD."""
    for index, upper in enumerate(BUCKET_UPPER):
        if dpd <= upper:
            return index
    return len(BUCKET_UPPER)


def floor_rank(dpd: int) -> int:
    """The least classification rank a DPD allows."""
    for threshold, rank in FLOOR_THRESHOLDS:
        if dpd > threshold:
            return rank
    return 0


def class_rank(classification: str) -> int:
    """Rank (0 normal … 4 loss) of a classification name."""
    return CLASSIFICATIONS.index(classification)


def effective_rank(reported: int, dpd: int) -> int:
    """The reported classification, worsened to the DPD floor where needed."""
    return max(reported, floor_rank(dpd))


def dpd_on(anchor: date | None, day: date) -> int:
    """DPD on `day` of a loan whose oldest unpaid due date (the anchor) is `anchor`."""
    if anchor is None or anchor >= day:
        return 0
    return (day - anchor).days


def month_start(day: date) -> date:
    """First day of the month of `day`."""
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """First of the month `months` after the month of `day`."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(day: date) -> date:
    """Last day of the month of `day`."""
    return date.fromordinal(add_months(day, 1).toordinal() - 1)


def months_between(start: date, end: date) -> int:
    """Whole calendar months from the month of `start` to the month of `end`."""
    return (end.year - start.year) * 12 + end.month - start.month
