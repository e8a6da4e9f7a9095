"""The core-banking simulator's pure model: seeded, valid, varied, and never ahead of the played day."""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from functools import cache

import pytest

from postloan_common.contracts import (
    TOPIC_OF,
    CustomerUpsertedV1,
    LoanBookedV1,
    LoanWrittenOffV1,
    RepaymentPostedV1,
    RepaymentReversedV1,
    parse_data,
)
from postloan_dev.simulator import Emitted, Simulation, SimulationConfig, auc, best_auc, truth_csv
from postloan_dev.simulator.ledger import Due, Payment, monthly_schedule, replay
from postloan_dev.simulator.model import TruthRow

START = date(2026, 1, 1)


@cache
def _played(seed: int, loans: int, months: int) -> tuple[Simulation, tuple[tuple[date, Emitted], ...]]:
    sim = Simulation(SimulationConfig(seed=seed, loans=loans, months=months, start=START))
    events = tuple((day, event) for day, emitted in sim.run() for event in emitted)
    return sim, events


def _year() -> tuple[Simulation, tuple[tuple[date, Emitted], ...]]:
    return _played(5, 400, 12)


def _typed(events: tuple[tuple[date, Emitted], ...]) -> list[tuple[date, Emitted, object]]:
    return [(day, e, parse_data(e.envelope)) for day, e in events]


def test_the_same_seed_gives_byte_identical_topics_and_another_seed_does_not() -> None:
    def stream(seed: int) -> list[tuple[str, str, bytes]]:
        sim = Simulation(SimulationConfig(seed=seed, loans=60, months=3, start=START))
        return [(e.topic, e.key, e.envelope.to_bytes()) for _, emitted in sim.run() for e in emitted]

    first, again, other = stream(3), stream(3), stream(4)

    assert first == again
    assert len(first) > 200
    assert len({envelope for _, _, envelope in first}) == len(first)  # ids are unique within a run
    assert first != other


def test_every_envelope_is_a_valid_contract_on_its_topic_keyed_by_its_subject() -> None:
    _, events = _year()
    counts: Counter[str] = Counter()
    for day, event, data in _typed(events):
        envelope = event.envelope
        counts[envelope.type] += 1
        assert TOPIC_OF[envelope.type] == event.topic
        assert event.key == envelope.subject
        assert envelope.business_date == day
        assert envelope.source == "core-banking"
        if isinstance(data, RepaymentPostedV1):
            assert data.amount > 0
            assert data.amount == data.amount.quantize(Decimal("0.01"))
        if isinstance(data, LoanBookedV1):
            assert (data.installments is None) != (data.terms is None)
    assert set(counts) == {
        "customer-upserted",
        "loan-booked",
        "repayment-posted",
        "repayment-reversed",
        "loan-written-off",
        "fund-moved",
    }, counts


def test_products_branches_and_customers_vary() -> None:
    _, events = _year()
    typed = _typed(events)
    loans = [d for _, _, d in typed if isinstance(d, LoanBookedV1)]
    customers = [d for _, _, d in typed if isinstance(d, CustomerUpsertedV1)]

    assert {loan.product for loan in loans} == {"consumer-12m", "consumer-24m", "instalment-6m", "sme-36m"}
    assert len({loan.branch for loan in loans}) >= 5
    assert any(loan.terms for loan in loans) and any(loan.installments for loan in loans)
    assert min(loan.disbursed_on for loan in loans) < START < max(loan.disbursed_on for loan in loans)
    assert {c.timezone for c in customers} >= {"Asia/Shanghai", "America/New_York"}
    assert {c.language.value for c in customers} == {"zh-CN", "en"}
    assert all(c.emails and c.emails[0].split("@")[1] in ("example.com", "example.org") for c in customers)
    assert Counter(c.timezone for c in customers).most_common(1)[0][0] == "Asia/Shanghai"


def test_every_loan_is_booked_after_its_customer_and_every_installment_is_due_on_or_after_the_start() -> None:
    sim, events = _year()
    announced: set[str] = set()
    for _, _, data in _typed(events):
        if isinstance(data, CustomerUpsertedV1):
            announced.add(data.customer_id)
        elif isinstance(data, LoanBookedV1):
            assert data.customer_id in announced
    assert all(loan.schedule[0].due_date >= START for loan in sim.loans)


def test_value_dates_never_exceed_the_played_day_and_some_are_back_valued() -> None:
    _, events = _year()
    disbursed: dict[str, date] = {}
    back_valued = 0
    for day, _, data in _typed(events):
        if isinstance(data, LoanBookedV1):
            assert data.disbursed_on <= day
            disbursed[data.loan_id] = data.disbursed_on
        elif isinstance(data, RepaymentPostedV1):
            assert disbursed[data.loan_id] <= data.value_date <= day
            back_valued += data.value_date < day
    assert back_valued > 10


def test_reversals_always_follow_their_repayment_on_a_later_day() -> None:
    _, events = _year()
    posted: dict[str, tuple[date, str]] = {}
    reversed_ids: list[str] = []
    for day, _, data in _typed(events):
        if isinstance(data, RepaymentPostedV1):
            posted[data.repayment_id] = (day, data.loan_id)
        elif isinstance(data, RepaymentReversedV1):
            assert data.repayment_id in posted, "reversal before its repayment"
            posted_on, loan_id = posted[data.repayment_id]
            assert loan_id == data.loan_id
            assert posted_on < day == data.reversed_on
            reversed_ids.append(data.repayment_id)
    assert reversed_ids
    assert len(reversed_ids) == len(set(reversed_ids))


def _schedule(data: LoanBookedV1) -> list[Due]:
    if data.installments:
        return [Due(i.seq, i.due_date, i.principal, i.interest, i.fee) for i in data.installments]
    assert data.terms is not None
    return monthly_schedule(
        method=data.terms.method.value,
        principal=data.principal,
        annual_rate=data.annual_rate,
        disbursed_on=data.disbursed_on,
        first_due_date=data.terms.first_due_date,
        months=data.terms.months,
    )


def test_nothing_is_posted_to_a_loan_that_is_paid_off_or_written_off() -> None:
    """Replaying the stream alone, as a receiver would, no event is one the platform must refuse."""
    _, events = _year()
    schedules: dict[str, list[Due]] = {}
    rates: dict[str, Decimal] = {}
    payments: dict[str, list[Payment]] = defaultdict(list)
    written_off: set[str] = set()
    closed_at_some_point = 0
    for day, _, data in _typed(events):
        if isinstance(data, LoanBookedV1):
            schedules[data.loan_id] = _schedule(data)
            rates[data.loan_id] = data.annual_rate * Decimal("1.5")
            assert sum((d.principal for d in schedules[data.loan_id]), Decimal(0)) == data.principal
            continue
        if isinstance(data, CustomerUpsertedV1):
            continue
        loan_id = data.loan_id  # type: ignore[attr-defined]
        assert loan_id not in written_off
        position = replay(schedules[loan_id], payments[loan_id], penalty_rate=rates[loan_id], as_of=day)
        if isinstance(data, RepaymentPostedV1):
            assert not position.paid_off, f"{data.repayment_id} posted to a paid-off loan"
            payments[loan_id].append(Payment(data.repayment_id, data.amount, data.value_date, len(payments[loan_id])))
            after = replay(schedules[loan_id], payments[loan_id], penalty_rate=rates[loan_id], as_of=day)
            closed_at_some_point += after.paid_off
        elif isinstance(data, RepaymentReversedV1):
            payments[loan_id] = [p for p in payments[loan_id] if p.repayment_id != data.repayment_id]
        elif isinstance(data, LoanWrittenOffV1):
            assert not position.paid_off
            assert position.dpd_on(day) >= 180
            assert data.principal == position.outstanding()["principal"]
            written_off.add(loan_id)
    assert closed_at_some_point > 0
    assert written_off


def test_the_archetypes_show_up_and_the_truth_ranks_defaulters_above_the_rest() -> None:
    sim, _ = _year()
    rows = sim.truth()
    by_type: dict[str, list[TruthRow]] = defaultdict(list)
    for row in rows:
        by_type[row.archetype].append(row)

    assert len(rows) == 400
    assert sum(r.max_dpd == 0 for r in rows) > 100  # many never miss a day
    assert sum(r.default_90dpd for r in rows) > 10
    assert set(by_type) >= {"prime", "late_payer", "partial_payer", "bouncer", "distressed", "early_default"}

    def default_rate(kind: str) -> float:
        return sum(r.default_90dpd for r in by_type[kind]) / len(by_type[kind])

    assert default_rate("prime") < default_rate("distressed") < default_rate("early_default")
    # Curers: missed a payment, never reached 90 DPD.
    assert any(0 < r.max_dpd < 90 and not r.will_default for r in rows)
    ceiling = best_auc(rows)
    assert ceiling is not None and ceiling > 0.75
    assert all(0 <= r.propensity <= 1 for r in rows)


def test_the_truth_csv_has_one_row_per_booked_loan() -> None:
    sim, _ = _year()
    rows = list(csv.DictReader(io.StringIO(truth_csv(sim.truth()))))

    assert len(rows) == 400
    assert {"loan_id", "customer_id", "propensity", "default_90dpd", "max_dpd"} <= set(rows[0])
    assert {r["default_90dpd"] for r in rows} == {"0", "1"}
    assert all(r["default_90dpd"] == str(int(int(r["max_dpd"]) >= 90)) for r in rows)


def test_days_are_played_in_order_from_the_start() -> None:
    sim = Simulation(SimulationConfig(seed=1, loans=5, months=1, start=START))

    assert sim.days[0] == START and sim.days[-1] == date(2026, 1, 31)
    with pytest.raises(ValueError, match="in order"):
        sim.play(date(2026, 1, 2))


def test_a_pre_start_window_that_would_leave_installments_due_before_the_start_is_refused() -> None:
    with pytest.raises(ValueError, match="pre_start_days"):
        SimulationConfig(seed=1, loans=5, months=1, start=START, pre_start_days=45)


def test_auc_counts_ties_half_and_needs_both_classes() -> None:
    assert auc([0.1, 0.2, 0.3, 0.4], [False, False, True, True]) == 1.0
    assert auc([0.5, 0.5], [False, True]) == 0.5
    assert auc([0.4, 0.3], [False, True]) == 0.0
    assert auc([0.1, 0.2], [True, True]) is None


def test_a_back_valued_payment_is_allocated_as_if_made_on_its_value_date() -> None:
    schedule = monthly_schedule(
        method="annuity",
        principal=Decimal("1200.00"),
        annual_rate=Decimal("0.12"),
        disbursed_on=date(2026, 1, 5),
        first_due_date=date(2026, 2, 5),
        months=12,
    )
    assert sum((d.principal for d in schedule), Decimal(0)) == Decimal("1200.00")
    first = schedule[0].total
    on_time = replay(
        schedule, [Payment("R1", first, date(2026, 2, 5), 1)], penalty_rate=Decimal("0.18"), as_of=date(2026, 2, 9)
    )
    late = replay(
        schedule, [Payment("R1", first, date(2026, 2, 8), 1)], penalty_rate=Decimal("0.18"), as_of=date(2026, 2, 9)
    )

    assert on_time.dpd_on(date(2026, 2, 9)) == 0
    assert late.outstanding()["penalty"] == 0 and late.dpd_on(date(2026, 2, 9)) == 4  # penalty ate part of it
    assert late.max_dpd(date(2026, 2, 1), date(2026, 2, 9)) == 4
