"""Where the simulated proceeds go: purposes fit products, flows are valid, and risk-alert's defaults see the truth."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

from postloan_common.contracts import TOPIC_OF, FundMovedV1, LoanBookedV1, parse_data
from postloan_dev.simulator import Emitted, Simulation, SimulationConfig, truth_csv
from postloan_dev.simulator.flows import PURPOSES_OF, REPORTING_LAG_DAYS, RULE_OF, Misuse, plan_flows, split_amount
from postloan_dev.simulator.truth import read_truth_csv
from postloan_risk_alert.domain import fund_use

START = date(2026, 1, 1)


@cache
def _played(seed: int, loans: int) -> tuple[Simulation, tuple[tuple[date, Emitted], ...]]:
    sim = Simulation(SimulationConfig(seed=seed, loans=loans, months=3, start=START))
    return sim, tuple((day, event) for day, emitted in sim.run() for event in emitted)


def _flows_by_loan(events: tuple[tuple[date, Emitted], ...]) -> dict[str, list[tuple[date, FundMovedV1]]]:
    by_loan: dict[str, list[tuple[date, FundMovedV1]]] = defaultdict(list)
    for day, event in events:
        data = parse_data(event.envelope)
        if isinstance(data, FundMovedV1):
            by_loan[data.loan_id].append((day, data))
    return by_loan


def test_every_loan_is_booked_with_a_purpose_of_its_product_and_its_flows_follow_the_booking() -> None:
    sim, events = _played(7, 400)
    booked = {
        data.loan_id: (day, data)
        for day, event in events
        if isinstance(data := parse_data(event.envelope), LoanBookedV1)
    }
    flows = _flows_by_loan(events)

    assert len(booked) == 400
    for loan_id, (day, loan) in booked.items():
        assert loan.purpose is not None
        assert loan.purpose.value in {p for p, _ in PURPOSES_OF[loan.product]}
        assert flows[loan_id], f"{loan_id} spent nothing"
        for reported, flow in flows[loan_id]:
            assert flow.occurred_on >= loan.disbursed_on
            assert flow.occurred_on <= reported  # never ahead of the played day
            assert reported >= day + timedelta(days=REPORTING_LAG_DAYS)  # after risk-alert knows the loan
            assert flow.currency == loan.currency
        assert sum(f.amount for _, f in flows[loan_id]) <= loan.principal
    ids = [f.flow_id for loan_flows in flows.values() for _, f in loan_flows]
    assert len(ids) == len(set(ids))
    transactions = [e for _, e in events if e.envelope.type == "fund-moved"]
    assert all(e.topic == TOPIC_OF["fund-moved"] == "core-banking.transactions" for e in transactions)
    assert all(e.key == e.envelope.subject for e in transactions)


def _flags(loan: LoanBookedV1, flows: list[FundMovedV1]) -> set[str]:
    domain_flows = [
        fund_use.Flow(
            f.flow_id,
            f.occurred_on,
            f.direction.value,
            f.amount,
            f.counterparty.kind.value,
            f.counterparty.account or f.counterparty.name,
            f.category,
        )
        for f in flows
    ]
    found = fund_use.evaluate(
        fund_use.default_policy(loan.purpose.value if loan.purpose else "other"),
        domain_flows,
        disbursed=loan.principal,
        disbursed_on=loan.disbursed_on,
        as_of=loan.disbursed_on + timedelta(days=120),
        retail=not loan.product.startswith("sme"),
    )
    return {f.rule for f in found}


def test_under_risk_alerts_default_policies_honest_loans_raise_nothing_and_each_misuse_its_own_rule() -> None:
    sim, events = _played(7, 400)
    booked = {d.loan_id: d for _, e in events if isinstance(d := parse_data(e.envelope), LoanBookedV1)}
    flows = _flows_by_loan(events)
    truth = {row.loan_id: row for row in sim.truth()}

    kinds = set()
    for loan_id, loan in booked.items():
        flags = _flags(loan, [f for _, f in flows[loan_id]])
        misuse = truth[loan_id].misuse
        assert flags == ({RULE_OF[misuse]} if misuse else set()), (loan_id, misuse, flags)
        kinds.add(misuse)
    assert kinds == {None, *Misuse}


def test_misuse_is_drawn_far_more_often_for_borrowers_who_will_default() -> None:
    sim, _ = _played(7, 400)
    defaulters = [loan for loan in sim.loans if loan.borrower.will_default]
    others = [loan for loan in sim.loans if not loan.borrower.will_default]

    share_defaulters = sum(r.misuse is not None for r in defaulters) / len(defaulters)
    share_others = sum(r.misuse is not None for r in others) / len(others)
    assert share_defaulters > 3 * share_others > 0


def test_a_plan_is_the_same_for_the_same_seed_and_splits_amounts_exactly() -> None:
    def plan(seed: int) -> object:
        return plan_flows(
            random.Random(seed),
            loan_id="L-1",
            principal=Decimal("800000.00"),
            disbursed_on=START,
            purpose="working_capital",
            will_default=True,
            borrower_account="6217000001",
        )

    assert plan(1) == plan(1)
    assert plan(1) != plan(2)
    parts = split_amount(random.Random(3), Decimal("1234.57"), 5)
    assert sum(parts) == Decimal("1234.57")
    assert all(p > 0 and p == p.quantize(Decimal("0.01")) for p in parts)


def test_the_truth_records_a_misuse_once_its_first_misusing_flow_was_sent_and_csv_keeps_it() -> None:
    sim = Simulation(SimulationConfig(seed=11, loans=300, months=1, start=START, booking_days=30))
    for _ in sim.run():
        pass
    last = sim.days[-1]
    rows = {r.loan_id: r for r in sim.truth()}
    booked = [loan for loan in sim.loans if loan.loan_id in rows]

    sent = [loan for loan in booked if loan.misuse and loan.misuse_on and loan.misuse_on <= last]
    unsent = [loan for loan in booked if loan.misuse and loan.misuse_on and loan.misuse_on > last]
    assert sent and unsent  # loans booked in the last days have not misused anything yet
    assert all(rows[loan.loan_id].misuse == loan.misuse for loan in sent)
    assert all(rows[loan.loan_id].misuse is None for loan in unsent)
    assert all(rows[loan.loan_id].purpose == loan.purpose for loan in booked)
    text = truth_csv(list(rows.values()))
    assert text.splitlines()[0].endswith(",purpose,misuse")
    assert {r.loan_id: (r.purpose, r.misuse) for r in read_truth_csv(text)} == {
        r.loan_id: (r.purpose, r.misuse) for r in rows.values()
    }
