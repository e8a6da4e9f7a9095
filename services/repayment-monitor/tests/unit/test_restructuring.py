"""Replay across restructurings, every figure worked out by hand.

The loan of test_ledger.py: 3 × 1,000.00 principal (+ 30 / 20 / 10 interest) due 5 Feb, 5 Mar and
5 Apr 2026 at 12%, penalty 18% a year (0.4931507 a day per 1,000.00). Installment 1 is paid late
on 10 Feb, installment 2 is missed, and on 20 Mar (DPD 15) core banking restructures the 2,000.00
still open into four installments of 500.00 due on the 20th of Apr … Jul at 8% (penalty 12%).
"""

import re
from dataclasses import replace
from datetime import date
from decimal import Decimal as D

import pytest
from rm_testkit import SCHEDULE

from postloan_repayment_monitor.domain.ledger import (
    Payment,
    Restructuring,
    RestructuringMismatch,
    Scheduled,
    allocation_totals,
    fixed_by,
    replay,
)
from postloan_repayment_monitor.domain.restructuring import (
    InvalidSchedule,
    basis,
    checked,
    fold_arrears,
    generated,
    renumbered,
)
from postloan_repayment_monitor.domain.rules import BucketScheme, Component, ProductRules

RATE = D("0.12")
RULES = ProductRules()
# 5 days late (06..10 Feb): 5 × 0.4931507 = 2.4657534 → 2.47 penalty, then 30.00 interest, 1,000.00 principal.
LATE = Payment("R1", D("1032.47"), date(2026, 2, 10), 1)
NEW = (
    Scheduled(1, date(2026, 4, 20), D("500.00"), D("25.00")),
    Scheduled(2, date(2026, 5, 20), D("500.00"), D("20.00")),
    Scheduled(3, date(2026, 6, 20), D("500.00"), D("15.00")),
    Scheduled(4, date(2026, 7, 20), D("500.00"), D("10.00")),
)
RS1 = Restructuring(
    restructure_id="RS1",
    restructured_on=date(2026, 3, 20),
    installments=renumbered(NEW, after_seq=3),
    outstanding_principal=D("2000.00"),
    annual_rate=D("0.08"),
    penalty_rate=D("0.12"),
    after_order=1,
)


def ledger(payments, as_of, restructurings=(RS1,)):
    return replay(SCHEDULE, payments, rules=RULES, contract_rate=RATE, as_of=as_of, restructurings=restructurings)


def test_the_open_installments_are_replaced_and_dpd_starts_from_the_new_schedule():
    state = ledger([LATE], date(2026, 3, 20))
    assert [i.seq for i in state.installments] == [1, 4, 5, 6, 7]
    assert state.dpd == 0
    effect = state.restructured["RS1"]
    assert effect.dpd_before == 15  # 20 Mar − 5 Mar
    assert [i.seq for i in effect.replaced] == [2, 3]
    # Installment 2's penalty through 20 Mar, 15 days × 0.4931507 = 7.3972603 → 7.40, ends with it.
    assert effect.replaced[0].owed(Component.PENALTY) == D("7.40")
    assert state.outstanding() == {
        "penalty": D("0.00"),
        "fee": D("0.00"),
        "interest": D("70.00"),
        "principal": D("2000.00"),
    }
    assert state.oldest_unpaid_due == date(2026, 4, 20)


def test_the_installment_paid_before_stays_with_the_penalty_it_paid_at_the_old_rate():
    state = ledger([LATE], date(2026, 3, 20))
    kept = state.installments[0]
    # Replayed at the original 18%, not the new 12% (which would make it 1.64 and the payment over-pay it).
    assert (kept.penalty, kept.paid[Component.PENALTY], kept.settled_on) == (D("2.47"), D("2.47"), date(2026, 2, 10))
    assert allocation_totals(state.allocations["R1"]) == {
        "penalty": D("2.47"),
        "fee": D("0.00"),
        "interest": D("30.00"),
        "principal": D("1000.00"),
        "credit": D("0.00"),
    }


def test_a_missed_new_installment_counts_dpd_and_accrues_penalty_at_the_new_rate():
    state = ledger([LATE], date(2026, 4, 25))
    # 5 days (21..25 Apr) × 500.00 × 0.12 / 365 = 0.8219178 → 0.82
    assert state.dpd == 5
    assert state.installments[1].penalty == D("0.82")
    assert state.overdue() == {"penalty": D("0.82"), "fee": D("0.00"), "interest": D("25.00"), "principal": D("500.00")}


def test_bucket_history_keeps_the_old_schedule_before_the_restructuring():
    state = ledger([LATE], date(2026, 4, 25))
    assert state.dpd_on(date(2026, 3, 19)) == 14
    assert state.bucket_history(BucketScheme(), date(2026, 2, 1)) == [
        (date(2026, 2, 1), "M0", 0),
        (date(2026, 2, 6), "M1", 1),
        (date(2026, 2, 10), "M0", 0),
        (date(2026, 3, 6), "M1", 1),
        (date(2026, 3, 20), "M0", 0),
        (date(2026, 4, 21), "M1", 1),
    ]


def test_a_payment_after_the_restructuring_pays_the_new_installments():
    state = ledger([LATE, Payment("R2", D("525.82"), date(2026, 4, 25), 2)], date(2026, 4, 25))
    assert allocation_totals(state.allocations["R2"]) == {
        "penalty": D("0.82"),
        "fee": D("0.00"),
        "interest": D("25.00"),
        "principal": D("500.00"),
        "credit": D("0.00"),
    }
    assert {line.seq for line in state.allocations["R2"]} == {4}
    assert (state.dpd, state.installments[1].settled_on) == (0, date(2026, 4, 25))


def test_a_payment_posted_before_a_back_dated_restructuring_but_valued_after_it_moves_to_the_new_schedule():
    # Posted (order 2) before core banking restructured as of 20 Mar; valued 25 Mar, so it follows RS1.
    state = ledger([LATE, Payment("R2", D("300.00"), date(2026, 3, 25), 2)], date(2026, 3, 28))
    lines = {(line.seq, line.component, line.amount) for line in state.allocations["R2"]}
    assert lines == {(4, "interest", D("25.00")), (4, "principal", D("275.00"))}
    assert state.installments[1].open_principal == D("225.00")


def test_a_payment_valued_on_the_restructuring_day_follows_it_only_when_posted_after_it():
    same_day = Payment("R0", D("20.00"), date(2026, 3, 20), 2)
    posted_before = replace(RS1, after_order=2)
    before = ledger([LATE, same_day], date(2026, 3, 20), (posted_before,))
    # Before RS1: 7.40 penalty and 12.60 interest of installment 2, which RS1 then replaces.
    assert {(line.seq, line.component, line.amount) for line in before.allocations["R0"]} == {
        (2, "penalty", D("7.40")),
        (2, "interest", D("12.60")),
    }
    assert before.restructured["RS1"].replaced[0].owed(Component.PENALTY) == D("0.00")
    after = ledger([LATE, same_day], date(2026, 3, 20))
    assert {(line.seq, line.component, line.amount) for line in after.allocations["R0"]} == {
        (4, "interest", D("20.00"))
    }


def test_a_late_payment_valued_before_the_restructuring_cannot_change_its_basis():
    late = Payment("R-LATE", D("100.00"), date(2026, 3, 15), 3)
    # Applied to installment 2 it would leave 1,924.93 open on 20 Mar (4.93 penalty, 20.00 interest, 75.07 principal).
    with pytest.raises(RestructuringMismatch, match=re.escape("open principal 1924.93")):
        ledger([LATE, late], date(2026, 3, 28))


def test_fixed_by_names_the_restructuring_a_payment_precedes():
    assert fixed_by(LATE, [RS1]) is RS1
    assert fixed_by(Payment("R0", D("1"), date(2026, 3, 20), 1), [RS1]) is RS1
    assert fixed_by(Payment("R3", D("1"), date(2026, 3, 20), 2), [RS1]) is None
    assert fixed_by(Payment("R2", D("1"), date(2026, 4, 25), 2), [RS1]) is None


def test_a_second_restructuring_replaces_what_the_first_left_open():
    paid = Payment("R2", D("525.82"), date(2026, 4, 25), 2)
    rs2 = Restructuring(
        restructure_id="RS2",
        restructured_on=date(2026, 5, 25),
        installments=renumbered(
            [Scheduled(k, date(2026, 5 + k, 25), D("500.00"), D("5.00")) for k in (1, 2, 3)], after_seq=7
        ),
        outstanding_principal=D("1500.00"),
        annual_rate=D("0.08"),
        penalty_rate=D("0.12"),
        after_order=2,
    )
    state = ledger([LATE, paid], date(2026, 6, 1), (RS1, rs2))
    assert [i.seq for i in state.installments] == [1, 4, 8, 9, 10]
    assert state.restructured["RS2"].dpd_before == 5  # 25 May − 20 May
    assert [i.seq for i in state.restructured["RS2"].replaced] == [5, 6, 7]
    assert (state.dpd, state.dpd_on(date(2026, 5, 24)), state.dpd_on(date(2026, 3, 19))) == (0, 4, 14)


def test_a_restructuring_whose_principal_differs_from_what_is_open_is_refused():
    wrong = Restructuring("RS1", date(2026, 3, 20), RS1.installments, D("1999.00"), D("0.08"), D("0.12"), 1)
    with pytest.raises(RestructuringMismatch, match=re.escape("does not match the loan's open principal 2000.00")):
        ledger([LATE], date(2026, 3, 20), (wrong,))


def test_basis_is_what_the_restructuring_replaces():
    later = Payment("R2", D("300.00"), date(2026, 3, 25), 2)
    found = basis(SCHEDULE, [LATE, later], rules=RULES, contract_rate=RATE, restructured_on=date(2026, 3, 20))
    # The 25 Mar payment is ignored; interest of installment 3 (due 5 Apr) is not yet overdue.
    assert (found.open_principal, found.overdue_interest, found.overdue_fee, found.open_penalty) == (
        D("2000.00"),
        D("20.00"),
        D("0.00"),
        D("7.40"),
    )
    assert (found.dpd, found.replaced_seqs) == (15, (2, 3))


def test_terms_generate_from_the_restructuring_day_with_the_arrears_folded_in():
    rows = generated(
        method="equal_principal",
        months=4,
        first_due_date=date(2026, 4, 20),
        principal=D("2000.00"),
        annual_rate=D("0.12"),
        restructured_on=date(2026, 3, 20),
        overdue_interest=D("20.00"),
        overdue_fee=D("0.00"),
    )
    # 20 Mar → 20 Apr is 30 days (30/360): 1% a month on 2000, 1500, 1000, 500, plus 20.00 / 4 = 5.00 each.
    assert [(r.due_date, r.principal, r.interest, r.fee) for r in rows] == [
        (date(2026, 4, 20), D("500.00"), D("25.00"), D("0.00")),
        (date(2026, 5, 20), D("500.00"), D("20.00"), D("0.00")),
        (date(2026, 6, 20), D("500.00"), D("15.00"), D("0.00")),
        (date(2026, 7, 20), D("500.00"), D("10.00"), D("0.00")),
    ]


def test_folded_arrears_round_down_and_the_last_installment_takes_the_rest():
    rows = [Scheduled(k, date(2026, 4, k), D("1.00"), D("0.00")) for k in range(1, 8)]
    # 0.05 / 7 = 0.00714… → 0.00 each, 0.05 on the last (rounding half up would give 0.01 × 6 and −0.01).
    assert [r.interest for r in fold_arrears(rows, interest=D("0.05"), fee=D("0.00"))] == [D("0.00")] * 6 + [D("0.05")]
    assert [r.fee for r in fold_arrears(rows[:3], interest=D("0"), fee=D("10.00"))] == [D("3.33"), D("3.33"), D("3.34")]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([Scheduled(2, date(2026, 4, 20), D("2000.00"), D("0"))], "without gaps"),
        (
            [
                Scheduled(1, date(2026, 5, 20), D("1000.00"), D("0")),
                Scheduled(2, date(2026, 4, 20), D("1000.00"), D("0")),
            ],
            "strictly increase",
        ),
        ([Scheduled(1, date(2026, 3, 20), D("2000.00"), D("0"))], "after restructured_on 2026-03-20"),
        ([Scheduled(1, date(2026, 4, 20), D("1500.00"), D("0"))], "sums to 1500.00, not the outstanding_principal"),
    ],
)
def test_an_explicit_schedule_is_checked(rows, message):
    with pytest.raises(InvalidSchedule, match=re.escape(message)):
        checked(rows, restructured_on=date(2026, 3, 20), principal=D("2000.00"))
