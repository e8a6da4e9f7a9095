"""The interval fold against a plain reference, and resumed folds against full ones, on random histories."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from postloan_reporting.domain.intervals import (
    FOREVER,
    STATE_KINDS,
    ZERO,
    Fact,
    FactKind,
    Interval,
    LoanTerms,
    Prior,
    build_intervals,
)

TERMS = LoanTerms(principal=D("3000.00"), disbursed_on=date(2026, 1, 5))


def reference_intervals(terms: LoanTerms, facts: list[Fact]) -> list[Interval]:
    """The fold as first written: every boundary looks at every fact (quadratic, but plainly right)."""
    ordered = sorted(facts, key=lambda f: f.order)
    start = terms.disbursed_on
    ordered = [replace(f, effective=max(f.effective, start)) for f in ordered]
    points: list[Fact] = []
    filled: dict[int, tuple[D | None, D | None]] = {}

    def latest(candidates: list[Fact], day: date) -> Fact | None:
        found = [f for f in candidates if f.effective <= day]
        return max(found, key=lambda f: (f.effective, f.order)) if found else None

    for fact in ordered:
        if fact.kind not in STATE_KINDS:
            continue
        before = latest(points, fact.effective)
        outstanding, overdue = fact.outstanding_total, fact.overdue
        if fact.kind is FactKind.RESCHEDULE and overdue is None:
            overdue = ZERO
        if outstanding is None and before is not None:
            outstanding = filled[before.order][0]
        if overdue is None and before is not None:
            overdue = filled[before.order][1]
        points = [p for p in points if p.effective < fact.effective] + [fact]
        filled[fact.order] = (outstanding, overdue)
    reversed_ids = {f.repayment_id for f in ordered if f.kind is FactKind.REVERSAL and f.repayment_id}

    def principal_on(day: date) -> D:
        base, since = terms.principal, None
        for f in ordered:
            resets = f.kind is FactKind.RESCHEDULE and f.principal_reset is not None and f.effective <= day
            if resets and (since is None or f.effective >= since):
                base, since = f.principal_reset, f.effective
        paid = sum(
            (
                f.principal_paid or ZERO
                for f in ordered
                if f.kind is FactKind.PAYMENT
                and f.repayment_id not in reversed_ids
                and f.effective <= day
                and (since is None or f.effective > since)
            ),
            ZERO,
        )
        return max(base - paid, ZERO)

    classes = [f for f in ordered if f.kind is FactKind.CLASSIFICATION and f.class_rank is not None]
    boundaries = sorted({start, *(f.effective for f in ordered)})
    result: list[Interval] = []
    for index, day in enumerate(boundaries):
        point = latest(points, day)
        if point is not None and point.kind is FactKind.CLOSED:
            break
        following = boundaries[index + 1] if index + 1 < len(boundaries) else FOREVER
        principal = principal_on(day)
        ranked = latest(classes, day)
        outstanding, overdue = filled[point.order] if point else (None, None)
        interval = Interval(
            valid_from=day,
            valid_to=following,
            dpd_anchor=point.anchor if point else None,
            principal=principal,
            outstanding_total=outstanding if outstanding is not None else principal,
            overdue=overdue if overdue is not None else ZERO,
            class_rank=ranked.class_rank if ranked and ranked.class_rank is not None else 0,
        )
        if result and result[-1].same_state(interval):
            result[-1] = replace(result[-1], valid_to=following)
        else:
            result.append(interval)
    return result


def _money(rng: random.Random, low: int, high: int) -> D:
    return D(rng.randrange(low * 100, high * 100)) / 100


def random_facts(rng: random.Random, count: int, first_order: int = 1, day: date = TERMS.disbursed_on) -> list[Fact]:
    """Facts of every kind as events bring them: mostly in date order, some back-valued, a few before disbursement."""
    facts = []
    for order in range(first_order, first_order + count):
        day += timedelta(days=rng.choice((0, 0, 1, 3, 7, 15, 30)))
        effective = day - timedelta(days=rng.choice((0, 0, 0, 0, 1, 5, 20, 60)))
        kind = rng.choices(list(FactKind), weights=(30, 25, 6, 5, 3, 20))[0]
        anchor = None if rng.random() < 0.5 else effective - timedelta(days=rng.randrange(0, 90))
        # The principal itself now and then: an observation that looks like none at all.
        outstanding = TERMS.principal if rng.random() < 0.1 else _money(rng, 0, 4000)
        overdue = _money(rng, 0, 900)
        fact = Fact(kind, effective, order)
        if kind is FactKind.STATE:
            missed = rng.random() < 0.3  # payment-missed says neither balance
            fact = replace(
                fact,
                anchor=anchor,
                outstanding_total=None if missed else outstanding,
                overdue=None if missed else overdue,
            )
        elif kind in (FactKind.PAYMENT, FactKind.REVERSAL):
            fact = replace(
                fact,
                anchor=anchor,
                outstanding_total=outstanding,
                overdue=overdue,
                repayment_id=f"R{rng.randrange(6)}",
                principal_paid=_money(rng, 0, 1800) if kind is FactKind.PAYMENT else None,
            )
        elif kind is FactKind.RESCHEDULE:
            fact = replace(fact, principal_reset=None if rng.random() < 0.2 else _money(rng, 1, 3000), overdue=ZERO)
        elif kind is FactKind.CLASSIFICATION:
            fact = replace(fact, class_rank=rng.randrange(5))
        facts.append(fact)
    return facts


def _covering(stored: list[Interval], day: date) -> Interval | None:
    return next((i for i in stored if i.valid_from <= day < i.valid_to), None)


def fold_in_batches(terms: LoanTerms, batches: list[list[Fact]]) -> tuple[list[Interval], int]:
    """Fold batch after batch as the ingest service does; return the stored intervals and how many resumed."""
    start = terms.disbursed_on
    stored: list[Interval] = []
    seen: list[Fact] = []
    resumed = 0
    for batch in batches:
        seen += batch
        since = max(min(f.effective for f in batch), start)
        prior = None
        covering = _covering(stored, since - timedelta(days=1)) if since > start else None
        if covering is not None and all(f.kind is not FactKind.REVERSAL for f in batch):
            before = [f.order for f in seen if f.kind in STATE_KINDS and max(f.effective, start) < since]
            prior = Prior(
                since=since,
                interval=covering,
                order=max(before) if before else None,
                reversed_ids=frozenset(f.repayment_id for f in seen if f.kind is FactKind.REVERSAL and f.repayment_id),
            )
        if prior is not None and prior.resumable:
            folded = build_intervals(terms, [f for f in seen if f.effective >= since], prior)
            stored = [i for i in stored if i.valid_from < prior.interval.valid_from] + folded
            resumed += 1
        else:
            stored = build_intervals(terms, seen)
    return stored, resumed


def test_the_fold_matches_the_reference_on_random_histories() -> None:
    rng = random.Random(20260105)
    for _ in range(1500):
        facts = random_facts(rng, rng.randrange(0, 30))
        rng.shuffle(facts)  # arrival order is `order`, whatever order they are handed over in
        assert build_intervals(TERMS, facts) == reference_intervals(TERMS, facts)


def test_a_resumed_fold_equals_a_full_fold_on_random_histories() -> None:
    rng = random.Random(8)
    resumed = folds = 0
    for _ in range(1500):
        facts = random_facts(rng, rng.randrange(1, 40))
        cuts = sorted(rng.sample(range(1, len(facts)), k=min(len(facts) - 1, rng.randrange(0, 12))))
        batches = [facts[a:b] for a, b in zip([0, *cuts], [*cuts, len(facts)], strict=True)]
        stored, count = fold_in_batches(TERMS, batches)
        assert stored == build_intervals(TERMS, facts), (batches, stored)
        resumed, folds = resumed + count, folds + len(batches)
    assert resumed > folds / 3  # most folds resumed: the comparison is not vacuous


def test_a_back_valued_fact_late_rewrites_only_the_days_from_its_value_date() -> None:
    rng = random.Random(3)
    history = [f for f in random_facts(rng, 40) if f.kind is not FactKind.CLOSED]
    late = Fact(FactKind.PAYMENT, date(2026, 2, 10), 1000, None, D("10.00"), ZERO, D("2990.00"), repayment_id="RL")
    stored, resumed = fold_in_batches(TERMS, [history, [late]])
    assert resumed == 1
    assert stored == build_intervals(TERMS, [*history, late])
    assert stored[-1].principal == ZERO  # the late payment repaid what was left


def test_a_resumed_fold_refuses_what_it_cannot_resume_from() -> None:
    paid = Fact(FactKind.PAYMENT, date(2026, 2, 5), 1, None, D("2060.00"), ZERO, D("1000.00"), repayment_id="R1")
    [first, second] = build_intervals(TERMS, [paid])
    prior = Prior(since=date(2026, 3, 1), interval=second, order=1, reversed_ids=frozenset())
    assert prior.resumable
    later = Fact(FactKind.CLASSIFICATION, date(2026, 3, 1), 2, class_rank=1)
    assert build_intervals(TERMS, [later], prior) == [
        replace(second, valid_to=date(2026, 3, 1)),
        replace(second, valid_from=date(2026, 3, 1), class_rank=1),
    ]
    with pytest.raises(ValueError, match="from further back"):
        build_intervals(TERMS, [replace(later, effective=date(2026, 2, 1))], prior)
    with pytest.raises(ValueError, match="pin the state down"):
        build_intervals(TERMS, [later], replace(prior, interval=first))  # outstanding is the principal
    with pytest.raises(ValueError, match="does not cover"):
        build_intervals(TERMS, [later], replace(prior, since=date(2026, 2, 5)))
