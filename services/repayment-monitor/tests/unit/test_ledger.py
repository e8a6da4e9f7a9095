"""The ledger replay, with every figure worked out by hand (penalty rate 12% × 1.5 = 18% a year)."""

from datetime import date
from decimal import Decimal as D

import pytest
from rm_testkit import SCHEDULE

from postloan_repayment_monitor.domain.ledger import Payment, allocation_totals, replay
from postloan_repayment_monitor.domain.rules import BucketScheme, Component, Overpayment, ProductRules, Waterfall

RATE = D("0.12")
RULES = ProductRules()
ON_TIME = Payment("R1", D("1030.00"), date(2026, 2, 5), 1)
PARTIAL = Payment("R2", D("500.00"), date(2026, 3, 12), 2)
BACK_VALUED = Payment("R3", D("530.00"), date(2026, 3, 15), 3)


def ledger(payments, as_of, rules=RULES):
    return replay(SCHEDULE, payments, rules=rules, contract_rate=RATE, as_of=as_of)


def test_on_time_payment_settles_the_first_installment():
    state = ledger([ON_TIME], date(2026, 2, 20))
    assert state.dpd == 0
    assert state.installments[0].settled_on == date(2026, 2, 5)
    assert allocation_totals(state.allocations["R1"])["interest"] == D("30.00")
    assert state.outstanding()["principal"] == D("2000.00")


def test_missed_installment_counts_dpd_and_accrues_penalty():
    state = ledger([ON_TIME], date(2026, 3, 10))
    # 5 days (03-06..03-10) × 1000 × 0.18 / 365 = 2.4657… → 2.47
    assert state.dpd == 5
    assert state.installments[1].penalty == D("2.47")
    assert state.overdue() == {
        "penalty": D("2.47"),
        "fee": D("0.00"),
        "interest": D("20.00"),
        "principal": D("1000.00"),
    }


def test_partial_payment_pays_penalty_then_interest_then_principal():
    state = ledger([ON_TIME, PARTIAL], date(2026, 3, 20))
    # Through 03-12: 7 days × 0.4931507 = 3.4520548 → 3.45 penalty; then 20.00 interest; 476.55 principal.
    assert allocation_totals(state.allocations["R2"]) == {
        "penalty": D("3.45"),
        "fee": D("0.00"),
        "interest": D("20.00"),
        "principal": D("476.55"),
        "credit": D("0.00"),
    }
    inst = state.installments[1]
    assert inst.open_principal == D("523.45")
    # Then 8 days (03-13..03-20) on 523.45: 523.45 × 0.18 / 365 × 8 = 2.0651178; total 5.5171726 → 5.52.
    assert inst.penalty == D("5.52")
    assert inst.owed(Component.PENALTY) == D("2.07")
    assert state.dpd == 15


def test_back_valued_payment_is_applied_as_of_its_value_date_and_cures():
    state = ledger([ON_TIME, PARTIAL, BACK_VALUED], date(2026, 3, 20))
    # Through 03-15: 3.4520548 + 3 days × 523.45 × 0.18/365 (0.2581397) = 4.2264740 → 4.23, of which 3.45 paid.
    totals = allocation_totals(state.allocations["R3"])
    assert totals == {
        "penalty": D("0.78"),
        "fee": D("0.00"),
        "interest": D("5.77"),
        "principal": D("523.45"),
        "credit": D("0.00"),
    }
    # The 5.77 left over is applied to the next installment (credit policy): its interest.
    assert [(line.seq, line.component, line.amount) for line in state.allocations["R3"]][-1] == (
        3,
        "interest",
        D("5.77"),
    )
    assert state.installments[1].settled_on == date(2026, 3, 15)
    assert state.dpd == 0
    assert state.dpd_on(date(2026, 3, 14)) == 9
    assert state.installments[1].penalty == D("4.23")
    assert state.outstanding()["interest"] == D("4.23")  # 10.00 − 5.77


def test_reversal_recomputes_everything_as_if_the_payment_was_never_made():
    state = ledger([ON_TIME, BACK_VALUED], date(2026, 3, 25))
    # Without R2, R3 on 03-15 meets 10 days of penalty on 1000.00: 4.9315068 → 4.93; interest 20.00;
    # principal 530 − 24.93 = 505.07, leaving 494.93 open, so the loan stays past due since 03-06.
    assert allocation_totals(state.allocations["R3"])["principal"] == D("505.07")
    assert state.installments[1].open_principal == D("494.93")
    assert state.dpd == 20
    # 10 more days on 494.93: 2.4407507; total 7.3722576 → 7.37, 4.93 paid → 2.44 open.
    assert state.installments[1].owed(Component.PENALTY) == D("2.44")
    history = state.bucket_history(BucketScheme(), date(2026, 2, 1))
    assert history == [(date(2026, 2, 1), "M0", 0), (date(2026, 3, 6), "M1", 1)]


def test_bucket_history_shows_the_cure_of_a_back_valued_payment():
    state = ledger([ON_TIME, PARTIAL, BACK_VALUED], date(2026, 3, 20))
    assert state.bucket_history(BucketScheme(), date(2026, 3, 1)) == [
        (date(2026, 3, 1), "M0", 0),
        (date(2026, 3, 6), "M1", 1),
        (date(2026, 3, 15), "M0", 0),
    ]


def test_grace_period_delays_penalty_but_not_dpd():
    state = ledger([ON_TIME], date(2026, 3, 10), rules=ProductRules(grace_days=3))
    assert state.dpd == 5
    # Only 03-09 and 03-10 accrue: 2 × 0.4931507 = 0.9863014 → 0.99
    assert state.installments[1].penalty == D("0.99")


def test_component_first_waterfall_pays_interest_of_every_installment_before_principal():
    rules = ProductRules(
        waterfall=Waterfall.COMPONENT_FIRST,
        component_order=(Component.INTEREST, Component.FEE, Component.PENALTY, Component.PRINCIPAL),
    )
    state = ledger([Payment("R", D("100.00"), date(2026, 3, 5))], date(2026, 3, 5), rules=rules)
    lines = [(line.seq, line.component, line.amount) for line in state.allocations["R"]]
    # Inst 1 has 28 days of penalty on 1000: 13.8082192 → 13.81.
    assert lines == [
        (1, "interest", D("30.00")),
        (2, "interest", D("20.00")),
        (1, "penalty", D("13.81")),
        (1, "principal", D("36.19")),
    ]


def test_overpayment_prepays_principal_from_the_last_installment():
    rules = ProductRules(overpayment=Overpayment.PREPAY)
    state = ledger([Payment("R", D("1530.00"), date(2026, 2, 5))], date(2026, 2, 5), rules=rules)
    lines = [(line.seq, line.component, line.amount) for line in state.allocations["R"]]
    assert lines == [(1, "interest", D("30.00")), (1, "principal", D("1000.00")), (3, "principal", D("500.00"))]


def test_paying_everything_closes_with_a_credit_balance():
    state = ledger([Payment("R", D("3100.00"), date(2026, 2, 1))], date(2026, 2, 1))
    assert state.is_paid_off
    assert state.credit_balance == D("40.00")
    assert state.oldest_unpaid_due is None


def test_payment_valued_after_as_of_is_refused():
    with pytest.raises(ValueError, match="valued after"):
        ledger([Payment("R", D("1.00"), date(2026, 3, 2))], date(2026, 3, 1))


def test_balances_agree_with_the_component_breakdown():
    state = ledger([ON_TIME, PARTIAL], date(2026, 3, 20))
    outstanding, overdue, principal = state.balances()
    assert outstanding == sum(state.outstanding().values())
    assert overdue == sum(state.overdue().values())
    assert principal == state.outstanding()["principal"]
