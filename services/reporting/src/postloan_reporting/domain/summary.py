"""The executive summary of the management report, as figures (the renderer words them per language).

- the move: of the headline ratios, the one that changed most (absolute percentage points) since
  the previous month end; none when nothing moved;
- new NPLs: loans non-performing (substandard, doubtful, loss) at the end of the as-of day that were
  not at the previous month end, largest balance first;
- the worst-rolling segment: the product or branch with the largest share of its balance at the
  previous month end that rolled to a worse bucket by the as-of day (ties: the larger amount rolled).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from postloan_reporting.domain.kpis import Kpis
from postloan_reporting.domain.ratios import ZERO, money, ratio
from postloan_reporting.domain.roll_rates import Migration

MOVING_RATIOS: tuple[str, ...] = ("overdue_rate", "par30", "par90", "npl_ratio")
LARGEST_NEW_NPLS = 3


@dataclass(frozen=True, slots=True)
class Move:
    key: str  # a Kpis field of MOVING_RATIOS
    before: Decimal
    now: Decimal
    change: Decimal  # now − before, as a ratio (0.01 = one percentage point)


@dataclass(frozen=True, slots=True)
class NewNpl:
    loan_id: str
    product: str
    branch: str
    balance: Decimal
    class_rank: int


@dataclass(frozen=True, slots=True)
class SegmentRoll:
    dimension: str  # product or branch
    key: str
    balance: Decimal  # at the previous month end
    rolled: Decimal  # of it, in a worse bucket by the as-of day
    rate: Decimal | None


@dataclass(frozen=True, slots=True)
class Summary:
    move: Move | None
    new_npl_count: int
    new_npl_balance: Decimal
    largest_new_npls: list[NewNpl]
    worst_segment: SegmentRoll | None


def segment_roll(dimension: str, key: str, migrations: Iterable[Migration]) -> SegmentRoll:
    """The share of a segment's balance that rolled to a worse bucket (closures count as not rolled)."""
    cells = list(migrations)
    balance = sum((m.balance for m in cells), ZERO)
    rolled = sum((m.balance for m in cells if m.to_bucket is not None and m.to_bucket > m.from_bucket), ZERO)
    return SegmentRoll(dimension, key, money(balance), money(rolled), ratio(rolled, balance))


def largest_move(now: Kpis, before: Kpis) -> Move | None:
    """The headline ratio that moved most since `before` (None when none is defined or none moved)."""
    moves = [
        Move(key, b, n, n - b)
        for key in MOVING_RATIOS
        if (n := getattr(now, key)) is not None and (b := getattr(before, key)) is not None
    ]
    best = max(moves, key=lambda m: abs(m.change), default=None)
    return best if best is not None and best.change else None


def executive_summary(
    *, now: Kpis, before: Kpis, new_npls: Iterable[NewNpl], segments: Iterable[SegmentRoll]
) -> Summary:
    """What moved most, the largest new NPLs and the worst-rolling segment."""
    npls = sorted(new_npls, key=lambda n: (-n.balance, n.loan_id))
    rolling = [s for s in segments if s.rate is not None and s.rolled > 0]
    worst = max(rolling, key=lambda s: (s.rate, s.rolled), default=None)
    return Summary(
        move=largest_move(now, before),
        new_npl_count=len(npls),
        new_npl_balance=money(sum((n.balance for n in npls), ZERO)),
        largest_new_npls=npls[:LARGEST_NEW_NPLS],
        worst_segment=worst,
    )
