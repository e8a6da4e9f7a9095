"""A loan's compact history: state intervals folded from the facts its events carried.

Every fact has an effective date (when it is true from) and an arrival order. A state fact (a
DPD/balance observation) supersedes the observations that arrived before it and are effective on
or after its own date: that is how a back-valued payment or a reversal rewrites the days between
its value date and the day it was posted. Within an interval DPD is not stored but anchored on
the oldest unpaid due date, so it grows by one a day without a row per day.

New facts change nothing before the earliest day they are effective, so a fold can resume from
the interval stored for the day before (a `Prior`) with only the facts effective from that day on:
its cost follows what changed, not the loan's whole history.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import accumulate

ZERO = Decimal(0)
FOREVER = date(9999, 12, 31)
DAY = timedelta(days=1)


class FactKind(StrEnum):
    STATE = "state"  # payment-missed, delinquency-changed, loan-cured
    PAYMENT = "payment"  # payment-received: a state observation and a principal repayment
    REVERSAL = "reversal"  # payment-reversed: a state observation that undoes a payment
    RESCHEDULE = "reschedule"  # loan-rescheduled: new principal base, arrears folded in
    CLOSED = "closed"  # loan-closed
    CLASSIFICATION = "classification"  # classification-changed


STATE_KINDS = frozenset({FactKind.STATE, FactKind.PAYMENT, FactKind.REVERSAL, FactKind.RESCHEDULE, FactKind.CLOSED})


@dataclass(frozen=True, slots=True)
class Fact:
    """One event's contribution to a loan's history (None: the event did not say)."""

    kind: FactKind
    effective: date
    order: int
    anchor: date | None = None
    outstanding_total: Decimal | None = None
    overdue: Decimal | None = None
    principal_paid: Decimal | None = None
    principal_reset: Decimal | None = None
    repayment_id: str | None = None
    class_rank: int | None = None


@dataclass(frozen=True, slots=True)
class LoanTerms:
    """What loan-registered told us about the loan."""

    principal: Decimal
    disbursed_on: date


@dataclass(frozen=True, slots=True)
class Interval:
    """The loan's state on every day from `valid_from` up to (not including) `valid_to`."""

    valid_from: date
    valid_to: date
    dpd_anchor: date | None
    principal: Decimal
    outstanding_total: Decimal
    overdue: Decimal
    class_rank: int

    def same_state(self, other: Interval) -> bool:
        """True when both carry the same state (dates aside)."""
        return replace(self, valid_from=other.valid_from, valid_to=other.valid_to) == other


@dataclass(frozen=True, slots=True)
class Prior:
    """Where a fold resumes on `since`: what the loan's facts effective before that day left behind.

    A reversal of a payment effective before `since` that arrived after `interval` was folded is not
    in it (the interval still counts the payment): that needs a full fold.
    """

    since: date
    interval: Interval  # the folded interval covering the day before `since`
    order: int | None  # arrival order of the latest state fact effective before `since` (None: none)
    reversed_ids: frozenset[str]  # repayments reversed by any of the loan's facts

    @property
    def resumable(self) -> bool:
        """True when the interval pins the state down.

        An outstanding equal to the principal may be the principal standing in for no observation
        at all, which later principal changes would move: that needs every fact. (A principal
        floored at zero needs nothing more: payments only ever lower it, and a reversal is a full fold.)
        """
        return self.order is not None and self.interval.outstanding_total != self.interval.principal


@dataclass(frozen=True, slots=True)
class _Point:
    effective: date
    order: int
    closed: bool
    anchor: date | None
    outstanding_total: Decimal | None
    overdue: Decimal | None


def _state_points(facts: list[Fact], opening: _Point | None) -> list[_Point]:
    """The surviving observations, by effective date (each one's is distinct)."""
    points = [] if opening is None else [opening]
    days = [p.effective for p in points]
    for fact in facts:
        if fact.kind not in STATE_KINDS or (opening is not None and fact.order < opening.order):
            continue
        at_or_before = bisect_right(days, fact.effective)
        before = points[at_or_before - 1] if at_or_before else None
        outstanding, overdue = fact.outstanding_total, fact.overdue
        if fact.kind is FactKind.RESCHEDULE:
            overdue = ZERO if overdue is None else overdue
        if outstanding is None and before is not None:
            outstanding = before.outstanding_total
        if overdue is None and before is not None:
            overdue = before.overdue
        cut = bisect_left(days, fact.effective)
        del points[cut:], days[cut:]
        points.append(
            _Point(fact.effective, fact.order, fact.kind is FactKind.CLOSED, fact.anchor, outstanding, overdue)
        )
        days.append(fact.effective)
    return points


def _check_resumes(terms: LoanTerms, prior: Prior, facts: list[Fact]) -> None:
    if not prior.resumable:
        raise ValueError("the prior interval does not pin the state down; fold every fact")
    if prior.since <= terms.disbursed_on or not prior.interval.valid_from < prior.since <= prior.interval.valid_to:
        raise ValueError(f"the prior interval does not cover the day before {prior.since}")
    if any(f.effective < prior.since for f in facts):
        raise ValueError(f"a fact effective before {prior.since} needs a fold from further back")


def build_intervals(terms: LoanTerms, facts: Iterable[Fact], prior: Prior | None = None) -> list[Interval]:
    """Fold a loan's facts (any arrival order given by `Fact.order`) into merged state intervals.

    With `prior`, `facts` are those effective on or after `prior.since` and the result is every
    interval from `prior.interval`'s start on: the same as the intervals of a fold of all facts
    that end on or after `prior.since`.
    """
    start = terms.disbursed_on
    ordered = sorted((f if f.effective >= start else replace(f, effective=start) for f in facts), key=lambda f: f.order)
    reversed_ids = {f.repayment_id for f in ordered if f.kind is FactKind.REVERSAL and f.repayment_id}
    if prior is None:
        first_day, opening, intervals = start, None, []
        base, reset_on, rank = terms.principal, None, 0
    else:
        _check_resumes(terms, prior, ordered)
        state = prior.interval
        first_day, intervals = prior.since, [replace(state, valid_to=prior.since)]
        order = prior.order if prior.order is not None else -1
        opening = _Point(first_day - DAY, order, False, state.dpd_anchor, state.outstanding_total, state.overdue)
        base, reset_on, rank = state.principal, first_day - DAY, state.class_rank
        reversed_ids |= prior.reversed_ids
    points = _state_points(ordered, opening)
    point_days = [p.effective for p in points]
    resets = sorted(
        (f for f in ordered if f.kind is FactKind.RESCHEDULE and f.principal_reset is not None),
        key=lambda f: (f.effective, f.order),
    )
    payments = sorted(
        (f.effective, f.principal_paid or ZERO)
        for f in ordered
        if f.kind is FactKind.PAYMENT and f.repayment_id not in reversed_ids
    )
    paid_days = [day for day, _ in payments]
    paid_through = [ZERO, *accumulate(amount for _, amount in payments)]
    classes = sorted(
        (f for f in ordered if f.kind is FactKind.CLASSIFICATION and f.class_rank is not None),
        key=lambda f: (f.effective, f.order),
    )
    next_reset = next_class = 0
    boundaries = sorted({first_day, *(f.effective for f in ordered)})
    for index, day in enumerate(boundaries):
        at = bisect_right(point_days, day)
        point = points[at - 1] if at else None
        if point is not None and point.closed:
            break
        while next_reset < len(resets) and resets[next_reset].effective <= day:
            base, reset_on = resets[next_reset].principal_reset, resets[next_reset].effective  # type: ignore[assignment]
            next_reset += 1
        while next_class < len(classes) and classes[next_class].effective <= day:
            rank = classes[next_class].class_rank  # type: ignore[assignment]
            next_class += 1
        paid_before = ZERO if reset_on is None else paid_through[bisect_right(paid_days, reset_on)]
        principal = max(base - (paid_through[bisect_right(paid_days, day)] - paid_before), ZERO)
        following = boundaries[index + 1] if index + 1 < len(boundaries) else FOREVER
        interval = Interval(
            valid_from=day,
            valid_to=following,
            dpd_anchor=point.anchor if point else None,
            principal=principal,
            outstanding_total=(point.outstanding_total if point and point.outstanding_total is not None else principal),
            overdue=point.overdue if point and point.overdue is not None else ZERO,
            class_rank=rank,
        )
        if intervals and intervals[-1].same_state(interval):
            intervals[-1] = replace(intervals[-1], valid_to=following)
        else:
            intervals.append(interval)
    return intervals


def anchor_of(business_date: date, dpd: int) -> date | None:
    """The oldest unpaid due date implied by `dpd` on `business_date` (None when current)."""
    return business_date - timedelta(days=dpd) if dpd > 0 else None
