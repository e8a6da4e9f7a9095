"""ECL and stage mix, provision coverage (拨备覆盖率) and review completion: the rules of the risk report."""

from __future__ import annotations

from decimal import Decimal as D

from postloan_reporting.domain.provisions import (
    SecuredNpl,
    StageRow,
    npl_collateral_coverage,
    npl_secured,
    provision_coverage,
    provisions,
)
from postloan_reporting.domain.reviews import ReviewCounts, review_slice, review_total


def test_provision_coverage_is_all_ecl_over_the_npl_balance() -> None:
    assert provision_coverage(ecl=D("330.00"), npl_balance=D("5000.00")) == D("0.066000")
    assert provision_coverage(ecl=D("7500"), npl_balance=D("5000")) == D("1.500000")  # over-provisioned: above 1


def test_a_zero_npl_balance_gives_no_coverage_rather_than_a_crash() -> None:
    assert provision_coverage(ecl=D("120.00"), npl_balance=D("0")) is None
    assert provisions([StageRow(1, 3, D("9000"), D("30"))], npl_balance=D("0")).provision_coverage is None


def test_stage_mix_lists_every_stage_and_merges_groups_of_one_stage() -> None:
    rows = [StageRow(1, 2, D("5000"), D("30")), StageRow(1, 1, D("1000"), D("0")), StageRow(3, 1, D("4000"), D("300"))]
    mix = provisions(rows, npl_balance=D("4000"))
    assert [(s.stage, s.loans, s.exposure, s.ecl) for s in mix.stages] == [
        (1, 3, D("6000.00"), D("30.00")),
        (2, 0, D("0.00"), D("0.00")),
        (3, 1, D("4000.00"), D("300.00")),
    ]
    assert [s.exposure_share for s in mix.stages] == [D("0.600000"), D("0.000000"), D("0.400000")]
    assert [s.coverage for s in mix.stages] == [D("0.005000"), None, D("0.075000")]
    assert (mix.ecl, mix.exposure, mix.provision_coverage) == (D("330.00"), D("10000.00"), D("0.082500"))


def test_npl_collateral_coverage_counts_each_loan_at_most_at_its_outstanding() -> None:
    # 3,000 of 5,000 secured; 9,000 on a 2,000 loan counts 2,000; a loan without collateral counts 0.
    loans = [
        SecuredNpl(D("5000.00"), D("3000.00")),
        SecuredNpl(D("2000.00"), D("9000.00")),
        SecuredNpl(D("1000"), D("0")),
    ]
    assert npl_secured(loans) == D("5000.00")
    assert npl_collateral_coverage(secured=D("5000.00"), npl_balance=D("8000.00")) == D("0.625000")
    assert npl_collateral_coverage(secured=D("0"), npl_balance=D("0")) is None
    mix = provisions([StageRow(3, 3, D("8000"), D("800"))], npl_balance=D("8000"), secured_npls=loans)
    assert (mix.npl_secured, mix.npl_collateral_coverage) == (D("5000.00"), D("0.625000"))
    assert provisions([], npl_balance=D("0")).npl_collateral_coverage is None


def test_review_rates_count_the_reviews_falling_due_and_none_due_gives_no_rate() -> None:
    north = review_slice(ReviewCounts("north", due=4, completed=3, on_time=2, overdue=1))
    assert (north.completion_rate, north.on_time_rate) == (D("0.750000"), D("0.500000"))
    quiet = review_slice(ReviewCounts("south", overdue=2))
    assert (quiet.completion_rate, quiet.on_time_rate, quiet.overdue) == (None, None, 2)
    total = review_total([ReviewCounts("north", 4, 3, 2, 1), ReviewCounts("south", 0, 0, 0, 2)])
    assert (total.branch, total.due, total.completed, total.overdue, total.completion_rate) == (
        "all",
        4,
        3,
        3,
        D("0.750000"),
    )
