"""Vintage curves: per disbursement month, the share of the originally disbursed amount that is
30+ (DPD > 30) or 90+ (DPD > 90) at each month on book, observed at month ends.

The numerator is the outstanding principal of the cohort's loans past the threshold on the
observation date; the denominator is everything the cohort disbursed (closed loans included).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from postloan_reporting.domain.model import months_between
from postloan_reporting.domain.ratios import money, ratio


@dataclass(frozen=True, slots=True)
class Observation:
    """A cohort's balances past 30 and 90 DPD on one observation date."""

    vintage: date
    observed_on: date
    balance_30: Decimal
    balance_90: Decimal


@dataclass(frozen=True, slots=True)
class Point:
    mob: int
    observed_on: date
    balance_30: Decimal
    balance_90: Decimal
    share_30: Decimal | None
    share_90: Decimal | None


@dataclass(frozen=True, slots=True)
class Curve:
    vintage: date
    disbursed: Decimal
    loans: int
    points: list[Point]


def curves(cohorts: Mapping[date, tuple[int, Decimal]], observations: Iterable[Observation]) -> list[Curve]:
    """One curve per cohort (`cohorts`: vintage → (loans, disbursed)), points ordered by month on book."""
    by_vintage: dict[date, list[Observation]] = {}
    for obs in observations:
        if obs.observed_on >= obs.vintage:
            by_vintage.setdefault(obs.vintage, []).append(obs)
    result = []
    for vintage in sorted(cohorts):
        loans, disbursed = cohorts[vintage]
        points = [
            Point(
                mob=months_between(vintage, o.observed_on),
                observed_on=o.observed_on,
                balance_30=money(o.balance_30),
                balance_90=money(o.balance_90),
                share_30=ratio(o.balance_30, disbursed),
                share_90=ratio(o.balance_90, disbursed),
            )
            for o in sorted(by_vintage.get(vintage, []), key=lambda o: o.observed_on)
        ]
        result.append(Curve(vintage=vintage, disbursed=money(disbursed), loans=loans, points=points))
    return result
