"""The incremental posting path gives the replay's result, to the cent, over random loans and histories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal as D
from itertools import pairwise
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from postloan_repayment_monitor.domain.incremental import (
    StoredInstallment,
    applies_in_order,
    apply_in_order,
    brought_to,
    posting_outcome,
    stands_for_replay,
    stored_ledger,
)
from postloan_repayment_monitor.domain.ledger import Ledger, Payment, Restructuring, Scheduled, replay
from postloan_repayment_monitor.domain.rules import BucketScheme, Component, Overpayment, ProductRules, Waterfall
from postloan_repayment_monitor.service.queries import loan_detail, schedule_view

START = date(2026, 1, 1)
BUCKETS = BucketScheme()
# installments.penalty_accrued keeps ten places.
PLACES = D("1E-10")


def money(low: int, high: int) -> st.SearchStrategy[D]:
    return st.integers(low, high).map(lambda c: D(c).scaleb(-2))


rules_st = st.builds(
    ProductRules,
    waterfall=st.sampled_from(Waterfall),
    component_order=st.permutations(list(Component)).map(tuple),
    penalty_annual_rate=st.none() | st.sampled_from([D("0.18"), D("0.365"), D("0.2437")]),
    penalty_multiplier=st.sampled_from([D("1.5"), D("1"), D("2.25")]),
    grace_days=st.integers(0, 5),
    overpayment=st.sampled_from(Overpayment),
)


@st.composite
def schedules(draw: st.DrawFn) -> list[Scheduled]:
    count = draw(st.integers(1, 6))
    gap = draw(st.sampled_from([7, 30, 31]))
    return [
        Scheduled(
            k + 1,
            START + timedelta(days=gap * (k + 1)),
            draw(money(0, 300_000)),
            draw(money(0, 5_000)),
            draw(st.sampled_from([D("0.00"), D("0.00"), D("5.00")])),
        )
        for k in range(count)
    ]


@dataclass(frozen=True)
class Case:
    schedule: list[Scheduled]
    rules: ProductRules
    rate: D
    history: list[Payment]
    restructurings: tuple[Restructuring, ...]
    stored_on: date
    payment: Payment
    as_of: date


def _restructuring(case_schedule, payments, rules, rate, on, after_order, draw) -> Restructuring | None:
    """A restructuring on `on` of what is then open into new installments, or None when nothing is open."""
    before = [p for p in payments if (p.value_date, p.order) <= (on, after_order)]
    state = replay(case_schedule, before, rules=rules, contract_rate=rate, as_of=on)
    open_principal = sum((i.open_principal for i in state.installments if not i.is_clear), D(0))
    if open_principal <= 0:
        return None
    count = draw(st.integers(1, 3))
    part = (open_principal / count).quantize(D("0.01"))
    principals = [part] * (count - 1) + [open_principal - part * (count - 1)]
    first_seq = len(case_schedule) + 1
    return Restructuring(
        restructure_id="X1",
        restructured_on=on,
        installments=tuple(
            Scheduled(first_seq + k, on + timedelta(days=30 * (k + 1)), principals[k], draw(money(0, 2_000)))
            for k in range(count)
        ),
        outstanding_principal=open_principal,
        annual_rate=D("0.08"),
        penalty_rate=draw(st.sampled_from([D("0.12"), D("0.2")])),
        after_order=after_order,
    )


@st.composite
def cases(draw: st.DrawFn) -> Case:
    schedule = draw(schedules())
    rules = draw(rules_st)
    rate = draw(st.sampled_from([D("0.12"), D("0.0725"), D("0.2399")]))
    # Earlier payments in any posting order (back-valued ones among them); some then reversed.
    count = draw(st.integers(0, 6))
    offsets = [draw(st.integers(0, 240)) for _ in range(count)]
    posted = [
        Payment(f"R{k}", draw(money(1, 400_000)), START + timedelta(days=o), k + 1) for k, o in enumerate(offsets)
    ]
    reversed_ids = draw(st.sets(st.sampled_from([p.repayment_id for p in posted]))) if posted else set()
    history = [p for p in posted if p.repayment_id not in reversed_ids]
    last = max((p.value_date for p in history), default=START)
    restructurings: tuple[Restructuring, ...] = ()
    if draw(st.booleans()):
        on = last + timedelta(days=draw(st.integers(0, 40)))
        made = _restructuring(schedule, history, rules, rate, on, len(posted), draw)
        if made is not None:
            restructurings = (made,)
            last = on
    stored_on = last + timedelta(days=draw(st.sampled_from([0, 0, 1, 3, 45])))
    value_date = last + timedelta(days=draw(st.integers(0, 120)))
    payment = Payment("NEW", draw(money(1, 500_000)), value_date, len(posted) + 2)
    as_of = max(value_date, stored_on) + timedelta(days=draw(st.sampled_from([0, 0, 1, 10])))
    event(f"restructured: {bool(restructurings)}")
    event(f"reversals: {bool(reversed_ids)}")
    event(f"back-valued history: {any(a.value_date > b.value_date for a, b in pairwise(posted))}")
    event(f"stored past the value date: {stored_on > value_date}")
    return Case(schedule, rules, rate, history, restructurings, stored_on, payment, as_of)


def _replayed(case: Case, payments: list[Payment], as_of: date) -> Ledger:
    return replay(
        case.schedule,
        payments,
        rules=case.rules,
        contract_rate=case.rate,
        as_of=as_of,
        restructurings=case.restructurings,
    )


def _as_stored(ledger: Ledger, case: Case) -> Ledger:
    """The ledger through the database: the columns persist() writes, penalty cut to ten places."""
    by_seq = {s.seq: s for s in case.schedule} | {s.seq: s for r in case.restructurings for s in r.installments}
    rows = [
        StoredInstallment(
            by_seq[i.seq],
            *(i.paid[c] for c in (Component.PRINCIPAL, Component.INTEREST, Component.FEE, Component.PENALTY)),
            penalty_accrued=i.penalty_exact.quantize(PLACES),
            penalty_as_of=i.accrued_through,
            settled_on=i.settled_on,
        )
        for i in ledger.installments
    ]
    return stored_ledger(
        rows,
        credit_balance=ledger.credit_balance,
        penalty_rate=ledger.penalty_rate,
        grace_days=ledger.grace_days,
        as_of=ledger.as_of,
        allocations=ledger.allocations,
    )


def _state(ledger: Ledger) -> list[tuple[object, ...]]:
    """Every installment as the database keeps it, penalty to the cent."""
    return [
        (i.seq, i.due_date, dict(i.scheduled), dict(i.paid), i.penalty, i.open_pif, i.accrued_through, i.settled_on)
        for i in ledger.installments
    ]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(cases())
def test_incremental_posting_equals_the_replay(case: Case) -> None:
    stored = _as_stored(_replayed(case, case.history, case.stored_on), case)
    assume(applies_in_order(stored, case.payment, earlier=case.history, restructurings=case.restructurings))
    expected = _replayed(case, [*case.history, case.payment], case.as_of)
    got = apply_in_order(stored, case.payment, rules=case.rules, as_of=case.as_of)

    assert _state(got) == _state(expected)
    for ours, theirs in zip(got.installments, expected.installments, strict=True):
        assert abs(ours.penalty_exact - theirs.penalty_exact) <= PLACES
    assert got.allocations == expected.allocations
    assert got.credit_balance == expected.credit_balance
    assert (got.oldest_unpaid_due, got.open_principal(), got.dpd) == (
        expected.oldest_unpaid_due,
        expected.open_principal(),
        expected.dpd,
    )
    assert posting_outcome(got, "NEW", buckets=BUCKETS) == posting_outcome(expected, "NEW", buckets=BUCKETS)


SCHEDULE = [
    Scheduled(1, date(2026, 2, 5), D("1000.00"), D("30.00")),
    Scheduled(2, date(2026, 3, 5), D("1000.00"), D("20.00")),
]


def _stored(payments: list[Payment], as_of: date) -> Ledger:
    case = Case(SCHEDULE, ProductRules(), D("0.12"), payments, (), as_of, payments[-1], as_of)
    return _as_stored(_replayed(case, payments, as_of), case)


def test_a_back_valued_or_tied_repayment_replays_instead() -> None:
    first = Payment("R1", D("100.00"), date(2026, 3, 10), 1)
    stored = _stored([first], date(2026, 3, 10))
    on_time = Payment("R2", D("50.00"), date(2026, 3, 10), 2)
    assert applies_in_order(stored, on_time, earlier=[first])
    back_valued = Payment("R2", D("50.00"), date(2026, 3, 9), 2)
    assert not applies_in_order(stored, back_valued, earlier=[first])
    posted_earlier = Payment("R2", D("50.00"), date(2026, 3, 10), 1)
    assert not applies_in_order(stored, posted_earlier, earlier=[first])


def test_a_repayment_valued_before_the_stored_accrual_replays_instead() -> None:
    first = Payment("R1", D("100.00"), date(2026, 3, 10), 1)
    # Stored on 03-20: installment 2's penalty runs through 03-20, past a repayment valued 03-15.
    stored = _stored([first], date(2026, 3, 20))
    assert not applies_in_order(stored, Payment("R2", D("50.00"), date(2026, 3, 15), 2), earlier=[first])
    assert applies_in_order(stored, Payment("R2", D("50.00"), date(2026, 3, 20), 2), earlier=[first])


def test_a_repayment_tied_with_a_restructuring_it_precedes_replays_instead() -> None:
    restructuring = Restructuring("X1", date(2026, 3, 10), (), D(0), D("0.08"), D("0.12"), after_order=5)
    stored = _stored([Payment("R1", D("1.00"), date(2026, 3, 1), 1)], date(2026, 3, 10))
    tied = Payment("R2", D("1.00"), date(2026, 3, 10), 3)
    assert not applies_in_order(stored, tied, earlier=[], restructurings=[restructuring])
    assert applies_in_order(stored, tied, earlier=[], restructurings=[])


def test_the_stored_ledger_is_left_as_it_was() -> None:
    first = Payment("R1", D("100.00"), date(2026, 3, 10), 1)
    stored = _stored([first], date(2026, 3, 10))
    before = _state(stored)
    after = apply_in_order(
        stored, Payment("R2", D("1000.00"), date(2026, 3, 12), 2), rules=ProductRules(), as_of=date(2026, 3, 12)
    )
    assert _state(stored) == before and "R2" not in stored.allocations
    assert after.is_paid_off is False and "R2" in after.allocations
    with pytest.raises(ValueError, match="valued after"):
        apply_in_order(
            stored, Payment("R3", D("1.00"), date(2026, 4, 1), 3), rules=ProductRules(), as_of=date(2026, 3, 12)
        )


def test_an_all_zero_installment_as_stored_at_intake_is_settled_as_the_replay_has_it() -> None:
    zero = Scheduled(1, date(2026, 2, 5), D("0.00"), D("0.00"))
    rows = [StoredInstallment(zero), StoredInstallment(SCHEDULE[1])]
    ledger = stored_ledger(rows, credit_balance=D(0), penalty_rate=D("0.18"), grace_days=0, as_of=date(2026, 3, 1))
    expected = replay([zero, SCHEDULE[1]], [], rules=ProductRules(), contract_rate=D("0.12"), as_of=date(2026, 3, 1))
    assert [i.settled_on for i in ledger.installments] == [i.settled_on for i in expected.installments]
    assert ledger.dpd == expected.dpd == 0


# GET /v1/loans/{id} and /schedule read the stored state brought to the business date (LoanFile.current).
ROW = SimpleNamespace(
    loan_id="L1",
    customer_id="C1",
    product="P",
    branch="B",
    currency="EUR",
    principal=D("1000.00"),
    annual_rate=D("0.12"),
    disbursed_on=START,
    purpose=None,
    status="active",
    closed_on=None,
)


def _views(ledger: Ledger) -> tuple[object, object]:
    return loan_detail(SimpleNamespace(row=ROW), ledger, BUCKETS), schedule_view(ledger, {1: START})  # type: ignore[arg-type]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(cases(), st.sampled_from([0, 0, 1, 7, 90]))
def test_detail_and_schedule_from_the_stored_state_equal_the_replay(case: Case, later: int) -> None:
    as_of = case.stored_on + timedelta(days=later)  # what persist() last wrote, read `later` days on
    stored = _as_stored(_replayed(case, case.history, case.stored_on), case)
    restructured = bool(case.restructurings)
    event(f"restructured (replays instead): {restructured}")
    if restructured:
        assert not stands_for_replay(stored, as_of=as_of, restructured=True)
        return
    assert stands_for_replay(stored, as_of=as_of, restructured=False)
    got = brought_to(stored, as_of)
    assert _views(got) == _views(_replayed(case, case.history, as_of))
    assert stored.as_of == case.stored_on  # left as it was


def test_a_restructured_loan_or_a_read_before_the_stored_accrual_replays() -> None:
    ledger = replay(SCHEDULE, [], rules=ProductRules(), contract_rate=D("0.12"), as_of=date(2026, 4, 1))
    assert stands_for_replay(ledger, as_of=date(2026, 4, 1), restructured=False)
    assert not stands_for_replay(ledger, as_of=date(2026, 4, 1), restructured=True)
    assert not stands_for_replay(ledger, as_of=date(2026, 3, 20), restructured=False)
