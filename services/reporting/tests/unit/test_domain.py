"""Every reporting formula against a small portfolio worked out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from postloan_reporting.domain import collections as col
from postloan_reporting.domain.intervals import FOREVER, Fact, FactKind, LoanTerms, anchor_of, build_intervals
from postloan_reporting.domain.kpis import AggRow, portfolio
from postloan_reporting.domain.model import bucket_index, dpd_on, effective_rank, floor_rank
from postloan_reporting.domain.roll_rates import Migration, matrix
from postloan_reporting.domain.vintage import Observation, curves

V = date(2026, 1, 1)

# Five loans on one day: gross 11,000.00.
#   A P1/B1 M0 normal 1,000 · B P1/B1 M1 special_mention 2,000 · C P1/B2 M2 special_mention 3,000
#   D P2/B2 M4 substandard 4,000 · E P2/B1 M0 doubtful (judgement) 1,000
BOOK = [
    AggRow("P1", "B1", V, 0, 0, 1, D("1000.00"), D("1050.00"), D("0")),
    AggRow("P1", "B1", V, 1, 1, 1, D("2000.00"), D("2100.00"), D("210.00")),
    AggRow("P1", "B2", V, 2, 1, 1, D("3000.00"), D("3150.00"), D("600.00")),
    AggRow("P2", "B2", V, 4, 2, 1, D("4000.00"), D("4200.00"), D("1400.00")),
    AggRow("P2", "B1", V, 0, 3, 1, D("1000.00"), D("1000.00"), D("0")),
]


def test_buckets_and_classification_floor() -> None:
    assert [bucket_index(d) for d in (0, 1, 30, 31, 60, 61, 90, 91, 180, 181)] == [0, 1, 1, 2, 2, 3, 3, 4, 6, 7]
    assert [floor_rank(d) for d in (0, 1, 90, 91, 270, 271, 360, 361)] == [0, 1, 1, 2, 2, 3, 3, 4]
    assert effective_rank(0, 5) == 1 and effective_rank(3, 5) == 3
    assert dpd_on(date(2026, 2, 5), date(2026, 2, 25)) == 20 and dpd_on(None, date(2026, 2, 25)) == 0


def test_portfolio_kpis() -> None:
    result = portfolio(BOOK)
    k = result.kpis
    assert k.loans == 5 and k.outstanding == D("11000.00")
    assert k.overdue_balance == D("9000.00") and k.overdue_loans == 3
    assert k.overdue_amount == D("2210.00")
    assert k.overdue_rate == D("0.818182")  # 9,000 / 11,000
    assert k.par30_balance == D("7000.00") and k.par30 == D("0.636364")  # C + D
    assert k.par90 == D("0.363636")  # D
    assert k.npl_balance == D("5000.00") and k.npl_ratio == D("0.454545")  # D + E
    aging = {s.key: (s.loans, s.balance) for s in result.by_bucket}
    assert aging["M0"] == (2, D("2000.00")) and aging["M4"] == (1, D("4000.00")) and aging["M6+"] == (0, D("0.00"))
    classes = {s.key: s.balance for s in result.by_classification}
    assert classes == {
        "normal": D("1000.00"),
        "special_mention": D("5000.00"),
        "substandard": D("4000.00"),
        "doubtful": D("1000.00"),
        "loss": D("0.00"),
    }
    p2 = next(s for s in result.by_product if s.key == "P2")
    assert p2.balance == D("5000.00") and p2.kpis is not None and p2.kpis.npl_ratio == D("1.000000")
    b1 = next(s for s in result.by_branch if s.key == "B1")
    assert b1.loans == 3 and b1.kpis is not None and b1.kpis.overdue_rate == D("0.500000")  # 2,000 / 4,000


def test_empty_portfolio_has_undefined_ratios() -> None:
    assert portfolio([]).kpis.npl_ratio is None


def test_roll_rate_matrix_with_cures_and_closures() -> None:
    rows = matrix(
        [
            Migration(0, 0, 1, D("1000")),
            Migration(0, 1, 1, D("2000")),
            Migration(1, 0, 1, D("500")),  # cured
            Migration(1, 2, 1, D("1500")),
            Migration(2, None, 1, D("800")),  # closed
            Migration(2, 3, 1, D("1200")),
        ]
    )
    by = {r.from_bucket: r for r in rows}
    m0 = {c.to: c.rate for c in by["M0"].cells}
    assert by["M0"].balance == D("3000.00") and m0["M0"] == D("0.333333") and m0["M1"] == D("0.666667")
    m1 = {c.to: c.rate for c in by["M1"].cells}
    assert m1["M0"] == D("0.250000") and m1["M2"] == D("0.750000") and by["M1"].cure_rate == D("0.250000")
    m2 = {c.to: c.rate for c in by["M2"].cells}
    assert m2["closed"] == D("0.400000") and m2["M3"] == D("0.600000") and by["M2"].roll_forward_rate == D("0.6")
    assert by["M3"].balance == D("0.00") and all(c.rate is None for c in by["M3"].cells)


def test_vintage_curve() -> None:
    cohort = date(2026, 1, 1)
    result = curves(
        {cohort: (2, D("10000"))},
        [
            Observation(cohort, date(2026, 2, 28), D("0"), D("0")),
            Observation(cohort, date(2026, 3, 31), D("3000"), D("0")),
            Observation(cohort, date(2026, 5, 31), D("3000"), D("2500")),
        ],
    )
    [curve] = result
    assert [(p.mob, p.share_30, p.share_90) for p in curve.points] == [
        (1, D("0"), D("0")),
        (2, D("0.3"), D("0")),
        (4, D("0.3"), D("0.25")),
    ]


def test_collections_rates_and_cei() -> None:
    activity = col.Activity(
        "all",
        attempts=10,
        connected=6,
        right_party=4,
        promises=2,
        kept=1,
        broken=1,
        cases_worked=5,
        cases_cured=2,
        cases_closed=2,
        collected=D("3000"),
    )
    perf = col.performance(activity)
    assert perf.contact_rate == D("0.6") and perf.right_party_contact_rate == D("0.4")
    assert perf.ptp_rate == D("0.5") and perf.ptp_kept_rate == D("0.5") and perf.cure_rate == D("0.4")
    assert perf.amount_collected_per_case == D("1500.00")
    assert col.is_right_party(connected=True, party="debtor", outcome="promise_to_pay")
    assert not col.is_right_party(connected=True, party="debtor", outcome="wrong_number")
    assert not col.is_right_party(connected=True, party="third_party", outcome="right_party_contact")
    # opening 1,000 + billed 5,000 − closing total (800 + 200) = 5,000 over 1,000 + 5,000 − 200 = 5,800
    result = col.cei(opening=D("1000"), billed=D("5000"), closing_overdue=D("800"), closing_current=D("200"))
    assert result.closing_total_receivable == D("1000.00") and result.cei == D("86.206897")
    assert "closing current" in result.variant


def test_reminder_effectiveness() -> None:
    items = [col.Installment(True, True)] * 3 + [col.Installment(True, False)] + [col.Installment(False, True)] * 1
    items += [col.Installment(False, False)] * 1
    effect = col.reminder_effect(items)
    assert (effect.reminded, effect.reminded_rate) == (4, D("0.75"))
    assert (effect.not_reminded, effect.not_reminded_rate) == (2, D("0.5")) and effect.uplift == D("0.25")


TERMS = LoanTerms(principal=D("3000.00"), disbursed_on=date(2026, 1, 5))
DUE = date(2026, 2, 5)


def test_intervals_follow_a_loan_and_merge_unchanged_days() -> None:
    facts = [
        Fact(FactKind.STATE, date(2026, 2, 6), 1, anchor_of(date(2026, 2, 6), 1), D("3060"), D("1030")),
        Fact(FactKind.STATE, date(2026, 3, 8), 2, anchor_of(date(2026, 3, 8), 31), D("3080"), D("2050")),
        Fact(FactKind.CLASSIFICATION, date(2026, 3, 8), 3, class_rank=1),
    ]
    intervals = build_intervals(TERMS, facts)
    assert [(i.valid_from, i.valid_to, i.dpd_anchor, i.class_rank) for i in intervals] == [
        (date(2026, 1, 5), date(2026, 2, 6), None, 0),
        (date(2026, 2, 6), date(2026, 3, 8), DUE, 0),  # DPD 1 → 31 without a row per day
        (date(2026, 3, 8), FOREVER, DUE, 1),
    ]
    assert dpd_on(intervals[1].dpd_anchor, date(2026, 3, 1)) == 24


def test_a_back_valued_payment_rewrites_the_days_since_its_value_date() -> None:
    missed = Fact(FactKind.STATE, date(2026, 2, 6), 1, anchor_of(date(2026, 2, 6), 1), D("3060"), D("1030"))
    paid = Fact(
        FactKind.PAYMENT, DUE, 2, None, D("2030"), D("0"), principal_paid=D("1000"), repayment_id="R1"
    )  # posted 20 Feb, value date 5 Feb: on time after all
    intervals = build_intervals(TERMS, [missed, paid])
    assert [(i.valid_from, i.dpd_anchor, i.principal) for i in intervals] == [
        (date(2026, 1, 5), None, D("3000.00")),
        (DUE, None, D("2000.00")),
    ]
    bounced = Fact(FactKind.REVERSAL, DUE, 3, anchor_of(date(2026, 2, 25), 20), D("3060"), D("1030"), repayment_id="R1")
    closed = Fact(FactKind.CLOSED, date(2026, 4, 10), 4)
    intervals = build_intervals(TERMS, [closed, bounced, missed, paid])
    assert [(i.valid_from, i.valid_to, i.dpd_anchor, i.principal) for i in intervals] == [
        (date(2026, 1, 5), DUE, None, D("3000.00")),
        (DUE, date(2026, 4, 10), DUE, D("3000.00")),
    ]
    assert dpd_on(intervals[1].dpd_anchor, date(2026, 2, 10)) == 5
