"""Recoveries after write-off and collection-agency commission (issue 16 item 4).

- written off: a loan's gross balance (outstanding total) at the end of the day before its
  write-off date, the last state reporting held for it before it was closed as written off;
- recovered: money received on a written-off loan (`recovery-received`) on or before the period's
  end; recovery rate = recovered ÷ written off (undefined when nothing was written off), by
  product, branch and write-off cohort (the month of the write-off date);
- an agency's placement covers the days from `placed_on` up to, not including, `recalled_on`
  (open: up to the period's end); what is received on the placed loan in those days and inside
  the period (payments not reversed, and recoveries after write-off) is recovered while placed,
  and the commission owed on it is that amount × the commission rate of the placement, rounded
  half-up to cents per placement and then added up per agency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from postloan_reporting.domain.model import month_start
from postloan_reporting.domain.ratios import ZERO, money, ratio


@dataclass(frozen=True, slots=True)
class WrittenOff:
    """Loans of one product and branch written off on one day, and what came back on them by the period's end."""

    product: str
    branch: str
    written_off_on: date
    loans: int
    written_off: Decimal
    recovered: Decimal


@dataclass(frozen=True, slots=True)
class RecoverySlice:
    key: str  # a product, a branch, a cohort month (YYYY-MM) or "all"
    loans: int
    written_off: Decimal
    recovered: Decimal
    recovery_rate: Decimal | None


@dataclass(frozen=True, slots=True)
class Placement:
    """A case placed with an agency (None dates: the event saying so has not arrived)."""

    placement_id: str
    agency_id: str
    loan_key: int
    commission_rate: Decimal | None
    placed_on: date | None
    recalled_on: date | None


@dataclass(frozen=True, slots=True)
class Received:
    """Money received on a loan on a day: a payment or a recovery after write-off."""

    loan_key: int
    received_on: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class AgencyRow:
    agency_id: str
    cases_placed: int  # placements made in the period
    amount_recovered: Decimal  # received while placed, in the period
    commission_owed: Decimal


def cohort_of(written_off_on: date) -> str:
    """The write-off cohort: the month of the write-off date, as YYYY-MM."""
    return month_start(written_off_on).strftime("%Y-%m")


def recovery_slice(key: str, rows: Iterable[WrittenOff]) -> RecoverySlice:
    """Loans, amount written off, amount recovered and recovery rate of `rows` together."""
    chosen = list(rows)
    written_off = sum((r.written_off for r in chosen), ZERO)
    recovered = sum((r.recovered for r in chosen), ZERO)
    return RecoverySlice(
        key, sum(r.loans for r in chosen), money(written_off), money(recovered), ratio(recovered, written_off)
    )


def recovery_slices(rows: Iterable[WrittenOff], key: Callable[[WrittenOff], str]) -> list[RecoverySlice]:
    """One slice per value of `key` (product, branch or cohort), sorted by it."""
    groups: dict[str, list[WrittenOff]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return [recovery_slice(name, members) for name, members in sorted(groups.items())]


def while_placed(placement: Placement, day: date, *, start: date, end: date) -> bool:
    """True when money received on `day` counts for the placement: placed then, and inside the period."""
    if placement.placed_on is None or not start <= day <= end:
        return False
    return placement.placed_on <= day and (placement.recalled_on is None or day < placement.recalled_on)


def commission(recovered: Decimal, rate: Decimal | None) -> Decimal:
    """The agency's commission on what it recovered: amount × rate, half-up to cents (no rate known: 0)."""
    return money(recovered * rate) if rate is not None else money(ZERO)


def agency_rows(
    placements: Iterable[Placement], received: Iterable[Received], *, start: date, end: date
) -> list[AgencyRow]:
    """Per agency: placements made in the period, amount recovered while placed, commission owed."""
    by_loan: dict[int, list[Received]] = defaultdict(list)
    for item in received:
        by_loan[item.loan_key].append(item)
    placed: dict[str, int] = defaultdict(int)
    recovered: dict[str, Decimal] = defaultdict(lambda: ZERO)
    owed: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for p in placements:
        if p.placed_on is not None and start <= p.placed_on <= end:
            placed[p.agency_id] += 1
        amount = sum(
            (r.amount for r in by_loan.get(p.loan_key, ()) if while_placed(p, r.received_on, start=start, end=end)),
            ZERO,
        )
        if amount or p.agency_id in placed:
            recovered[p.agency_id] += amount
            owed[p.agency_id] += commission(amount, p.commission_rate)
    agencies = sorted(set(placed) | set(recovered))
    return [AgencyRow(a, placed.get(a, 0), money(recovered.get(a, ZERO)), money(owed.get(a, ZERO))) for a in agencies]
