"""How a debtor's assessment ratios move from period to period (the trend features of customer rules)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal


def ratio_changes(
    current: Mapping[str, Decimal | None], previous: Mapping[str, Decimal | None] | None
) -> dict[str, Decimal | None]:
    """Each ratio minus the previous period's (None without a previous period or where either is undefined)."""
    changes: dict[str, Decimal | None] = {}
    for name, value in current.items():
        before = previous.get(name) if previous else None
        changes[name] = value - before if value is not None and before is not None else None
    return changes


def rising_streak(values: Sequence[Decimal | None]) -> int:
    """How many periods in a row the value rose, ending at the latest (`values` oldest first)."""
    streak = 0
    for before, after in zip(reversed(values[:-1]), reversed(values[1:]), strict=True):
        if before is None or after is None or after <= before:
            break
        streak += 1
    return streak
