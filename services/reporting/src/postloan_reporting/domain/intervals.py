"""A loan's compact history: state intervals folded from the facts its events carried.

Every fact has an effective date (when it is true from) and an arrival order. A state fact (a
DPD/balance observation) supersedes the observations that arrived before it and are effective on
or after its own date: that is how a back-valued payment or a reversal rewrites the days between
its value date and the day it was posted. Within an interval DPD is not stored but anchored on
the oldest unpaid due date, so it grows by one a day without a row per day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal(0)
FOREVER = date(9999, 12, 31)


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
class _Point:
    effective: date
    order: int
    closed: bool
    anchor: date | None
    outstanding_total: Decimal | None
    overdue: Decimal | None


def _latest(points: Iterable[_Point], day: date) -> _Point | None:
    best: _Point | None = None
    for point in points:
        if point.effective <= day and (best is None or (point.effective, point.order) > (best.effective, best.order)):
            best = point
    return best


def _state_points(facts: list[Fact]) -> list[_Point]:
    points: list[_Point] = []
    for fact in facts:
        if fact.kind not in STATE_KINDS:
            continue
        before = _latest(points, fact.effective)
        outstanding, overdue = fact.outstanding_total, fact.overdue
        if fact.kind is FactKind.RESCHEDULE:
            overdue = ZERO if overdue is None else overdue
        if outstanding is None and before is not None:
            outstanding = before.outstanding_total
        if overdue is None and before is not None:
            overdue = before.overdue
        points = [p for p in points if p.effective < fact.effective]
        points.append(
            _Point(fact.effective, fact.order, fact.kind is FactKind.CLOSED, fact.anchor, outstanding, overdue)
        )
    return points


def _principal_on(terms: LoanTerms, facts: list[Fact], reversed_ids: set[str], day: date) -> Decimal:
    base, since = terms.principal, None
    for fact in facts:
        resets = fact.kind is FactKind.RESCHEDULE and fact.principal_reset is not None and fact.effective <= day
        if resets and (since is None or fact.effective >= since):
            base, since = fact.principal_reset, fact.effective  # type: ignore[assignment]
    paid = sum(
        (
            f.principal_paid or ZERO
            for f in facts
            if f.kind is FactKind.PAYMENT
            and f.repayment_id not in reversed_ids
            and f.effective <= day
            and (since is None or f.effective > since)
        ),
        ZERO,
    )
    return max(base - paid, ZERO)


def build_intervals(terms: LoanTerms, facts: Iterable[Fact]) -> list[Interval]:
    """Fold a loan's facts (any arrival order given by `Fact.order`) into merged state intervals."""
    ordered = sorted(facts, key=lambda f: f.order)
    start = terms.disbursed_on
    ordered = [replace(f, effective=max(f.effective, start)) for f in ordered]
    points = _state_points(ordered)
    classes = [f for f in ordered if f.kind is FactKind.CLASSIFICATION and f.class_rank is not None]
    reversed_ids = {f.repayment_id for f in ordered if f.kind is FactKind.REVERSAL and f.repayment_id}
    boundaries = sorted({start, *(p.effective for p in points), *(f.effective for f in ordered)})
    intervals: list[Interval] = []
    for index, day in enumerate(boundaries):
        point = _latest(points, day)
        if point is not None and point.closed:
            break
        following = boundaries[index + 1] if index + 1 < len(boundaries) else FOREVER
        principal = _principal_on(terms, ordered, reversed_ids, day)
        rank = 0
        best: Fact | None = None
        for fact in classes:
            if fact.effective <= day and (best is None or (fact.effective, fact.order) > (best.effective, best.order)):
                best = fact
        if best is not None and best.class_rank is not None:
            rank = best.class_rank
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
