"""Strategy effectiveness per experiment arm (issue 16 item 6), with the statistics to judge the differences.

The unit of randomisation is the case (crm gives each new case an arm by a hash of its loan id), so every
rate counts cases, never attempts: attempts of one case are not independent, and counting them would make
the intervals too narrow. Outcome rates need the case's 30-day window to have ended ("mature" cases).

- cure rate (30 d) = mature cases closed as cured within 30 days of opening ÷ mature cases
- roll-forward rate = mature cases whose loan was in a worse bucket 30 days after opening than at opening
  ÷ mature cases (a loan no longer in the book then is not a roll)
- self-cure rate = mature cases cured within 30 days with no contact attempt at all ÷ mature cases
- right-party contact rate = cases with at least one right-party contact ÷ cases
- promise rate = cases with a promise to pay ÷ cases with a right-party contact
- kept rate = promises kept ÷ promises resolved (kept + broken)
- cost = Σ attempts and messages × unit cost of their channel + collector hours × cost of an hour, where
  collector hours = Σ attempts × handle minutes of their channel ÷ 60; cost per yuan recovered = cost ÷
  amount collected on the arm's cases
- cases per collector per day = distinct (collector, case, day) with an attempt ÷ distinct (collector, day)

Each rate has a 95 % Wilson score interval; each arm's rate is compared with the champion's by a two-sided
two-proportion z-test with the pooled proportion (p-value from the normal CDF by math.erfc).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import MINYEAR, date, timedelta
from decimal import Decimal

from postloan_reporting.domain.model import bucket_index
from postloan_reporting.domain.ratios import ZERO, money, ratio, rounded_ratio

CURE_WINDOW_DAYS = 30
Z_95 = 1.959963984540054  # the 97.5th percentile of the standard normal
MINUTES_PER_HOUR = Decimal(60)


@dataclass(frozen=True, slots=True)
class Proportion:
    """k of n, its rate, 95 % Wilson interval and (for a challenger) difference from the champion and p-value."""

    successes: int
    trials: int
    rate: Decimal | None
    ci_low: Decimal | None
    ci_high: Decimal | None
    difference: Decimal | None = None
    p_value: Decimal | None = None


def wilson_interval(successes: int, trials: int, *, z: float = Z_95) -> tuple[Decimal, Decimal] | None:
    """The Wilson score interval of successes/trials (None without trials), each end rounded to 6 places."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return rounded_ratio(Decimal(repr(max(0.0, centre - half)))), rounded_ratio(Decimal(repr(min(1.0, centre + half))))


def two_proportion_p_value(k1: int, n1: int, k2: int, n2: int) -> Decimal | None:
    """Two-sided p-value of H0 p1 = p2 by the pooled two-proportion z-test; None when it is undefined (no
    trials on a side, or every or no trial a success on both, where the pooled variance is 0)."""
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (k1 + k2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return None
    z = (k1 / n1 - k2 / n2) / math.sqrt(variance)
    return rounded_ratio(Decimal(repr(math.erfc(abs(z) / math.sqrt(2)))))


def proportion(successes: int, trials: int, *, champion: tuple[int, int] | None = None) -> Proportion:
    """The rate of `successes` of `trials` with its interval, and against `champion` (k, n) when given."""
    interval = wilson_interval(successes, trials)
    rate = ratio(successes, trials)
    difference = p_value = None
    if champion is not None:
        base = ratio(*champion)
        difference = rate - base if rate is not None and base is not None else None
        p_value = two_proportion_p_value(successes, trials, *champion)
    low, high = interval if interval is not None else (None, None)
    return Proportion(successes, trials, rate, low, high, difference=difference, p_value=p_value)


def cured_within(*, opened_on: date, closed_on: date | None, reason: str | None, days: int = CURE_WINDOW_DAYS) -> bool:
    """Whether a case was closed as cured within `days` of opening."""
    return reason == "cured" and closed_on is not None and (closed_on - opened_on).days <= days


def window_end(opened_on: date, *, days: int = CURE_WINDOW_DAYS) -> date:
    """The last day of a case's outcome window: the day its cure and roll-forward are judged."""
    return opened_on + timedelta(days=days)


def is_mature(opened_on: date, *, as_of: date, days: int = CURE_WINDOW_DAYS) -> bool:
    """Whether the case's outcome window has ended by `as_of` (only then are cure and roll known)."""
    return window_end(opened_on, days=days) <= as_of


def rolled_forward(*, opened_dpd: int | None, dpd_after: int) -> bool:
    """Whether the loan was in a worse bucket at the end of the window than when the case opened."""
    return opened_dpd is not None and bucket_index(dpd_after) > bucket_index(opened_dpd)


def contact_cost(
    counts: Mapping[str, int],
    *,
    unit_cost: Mapping[str, Decimal],
    handle_minutes: Mapping[str, Decimal],
    hour_cost: Decimal,
) -> tuple[Decimal, Decimal, Decimal]:
    """(cost of the contacts, collector hours, cost of those hours) of `counts` per channel."""
    direct = sum((unit_cost.get(ch, ZERO) * n for ch, n in counts.items()), ZERO)
    hours = sum((handle_minutes.get(ch, ZERO) * n for ch, n in counts.items()), ZERO) / MINUTES_PER_HOUR
    return money(direct), rounded_ratio(hours), money(hours * hour_cost)


def cost_per_yuan(cost: Decimal, collected: Decimal) -> Decimal | None:
    """Cost ÷ amount recovered (None when nothing was recovered)."""
    return ratio(cost, collected) if collected > ZERO else None


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    """What happened on one case of the cohort; `dpd_after` is its loan's DPD at the end of its window."""

    arm: str
    role: str | None
    opened_on: date
    opened_dpd: int | None
    closed_on: date | None
    close_reason: str | None
    amount_collected: Decimal
    dpd_after: int
    contacted: bool
    right_party: bool
    promised: bool
    kept: int
    broken: int


@dataclass(slots=True)
class ArmTally:
    """The counts of one arm behind its rates."""

    arm: str
    role: str | None = None
    cases: int = 0
    mature: int = 0
    cured: int = 0
    rolled: int = 0
    self_cured: int = 0
    right_party: int = 0
    promised: int = 0
    kept: int = 0
    resolved: int = 0
    collected: Decimal = ZERO


def tally(cases: list[CaseOutcome], *, as_of: date) -> dict[str, ArmTally]:
    """Count each arm's cases and outcomes; window outcomes only of cases mature by `as_of`."""
    arms: dict[str, ArmTally] = {}
    for case in cases:
        arm = arms.setdefault(case.arm, ArmTally(case.arm))
        arm.role = arm.role or case.role
        arm.cases += 1
        arm.right_party += case.right_party
        arm.promised += case.promised and case.right_party
        arm.kept += case.kept
        arm.resolved += case.kept + case.broken
        arm.collected += case.amount_collected
        if not is_mature(case.opened_on, as_of=as_of):
            continue
        cured = cured_within(opened_on=case.opened_on, closed_on=case.closed_on, reason=case.close_reason)
        arm.mature += 1
        arm.cured += cured
        arm.self_cured += cured and not case.contacted
        arm.rolled += rolled_forward(opened_dpd=case.opened_dpd, dpd_after=case.dpd_after)
    return arms


def champion_of(arms: Mapping[str, ArmTally], *, named: str | None = None) -> str | None:
    """The arm the others are compared with: `named` when given and present, else the champion by role."""
    if named is not None:
        return named if named in arms else None
    champions = [a for a in arms.values() if a.role == "champion"]
    return max(champions, key=lambda a: (a.cases, a.arm)).arm if champions else None


# The programme view: the default rate of the loans booked in a period beside those booked a year before.
DEFAULT_AFTER_DPD = 90  # default = more than 90 days past due (as PAR90 counts it)
DEFAULT_HORIZON_DAYS = 365  # … within 12 months of booking


def observed_days(*, cohort_end: date, as_of: date) -> int:
    """Days after booking every loan of a cohort ending `cohort_end` has been watched by `as_of`, at most 365;
    both cohorts are judged on the same horizon so the younger one is not flattered."""
    return max(0, min(DEFAULT_HORIZON_DAYS, (as_of - cohort_end).days))


def defaulted(max_dpd: int) -> bool:
    """Whether a loan whose worst DPD within the horizon was `max_dpd` counts as defaulted."""
    return max_dpd > DEFAULT_AFTER_DPD


def year_before(day: date) -> date:
    """The same day a year earlier (29 February → 28 February; the first year has none before it: itself)."""
    if day.year == MINYEAR:
        return day
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)
