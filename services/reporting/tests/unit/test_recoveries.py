"""Recoveries after write-off and agency commission: the rules of the recoveries report (docs/domain.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from postloan_reporting.domain.recoveries import (
    Placement,
    Received,
    WrittenOff,
    agency_rows,
    cohort_of,
    commission,
    recovery_slice,
    recovery_slices,
    while_placed,
)

MARCH = {"start": date(2026, 3, 1), "end": date(2026, 3, 31)}


def _placement(placed: date | None, recalled: date | None = None, rate: str | None = "0.15", agency: str = "AG1"):
    return Placement("PL", agency, 7, None if rate is None else D(rate), placed, recalled)


def test_the_recovery_rate_is_recovered_over_written_off_and_undefined_without_write_offs() -> None:
    rows = [
        WrittenOff("P1", "B1", date(2026, 3, 10), 1, D("3100.00"), D("500.00")),
        WrittenOff("P1", "B2", date(2026, 3, 20), 2, D("1900.00"), D("400.00")),
    ]
    assert recovery_slice("all", rows) == recovery_slice("all", rows[::-1])
    total = recovery_slice("all", rows)
    assert (total.loans, total.written_off, total.recovered, total.recovery_rate) == (
        3,
        D("5000.00"),
        D("900.00"),
        D("0.180000"),
    )
    assert recovery_slice("all", []).recovery_rate is None
    assert [s.key for s in recovery_slices(rows, lambda r: r.branch)] == ["B1", "B2"]
    assert recovery_slices(rows, lambda r: r.branch)[0].recovery_rate == D("0.161290")  # 500 / 3100, half-up


def test_the_cohort_is_the_month_of_the_write_off() -> None:
    assert cohort_of(date(2026, 3, 1)) == cohort_of(date(2026, 3, 31)) == "2026-03"
    assert cohort_of(date(2026, 4, 1)) == "2026-04"


def test_a_placement_counts_from_its_day_up_to_not_including_its_recall_and_only_inside_the_period() -> None:
    placement = _placement(date(2026, 3, 5), date(2026, 3, 20))
    assert not while_placed(placement, date(2026, 3, 4), **MARCH)
    assert while_placed(placement, date(2026, 3, 5), **MARCH)
    assert while_placed(placement, date(2026, 3, 19), **MARCH)
    assert not while_placed(placement, date(2026, 3, 20), **MARCH)  # the recall day is the bank's again
    still_placed = _placement(date(2026, 2, 1))
    assert while_placed(still_placed, date(2026, 3, 31), **MARCH)
    assert not while_placed(still_placed, date(2026, 2, 15), **MARCH)  # before the period
    assert not while_placed(_placement(None, date(2026, 3, 20)), date(2026, 3, 10), **MARCH)  # placement not seen


def test_commission_is_rounded_half_up_to_cents_per_placement() -> None:
    assert commission(D("333.33"), D("0.15")) == D("50.00")  # 49.9995
    assert commission(D("100.03"), D("0.15")) == D("15.00")  # 15.0045
    assert commission(D("100.00"), None) == D("0.00")
    placements = [
        Placement("PL1", "AG1", 1, D("0.15"), date(2026, 3, 1), None),
        Placement("PL2", "AG1", 2, D("0.15"), date(2026, 3, 1), None),
    ]
    received = [Received(1, date(2026, 3, 2), D("0.03")), Received(2, date(2026, 3, 2), D("0.03"))]
    [row] = agency_rows(placements, received, **MARCH)
    # 0.0045 each, rounded per placement to 0.00 (not 0.01 for the 0.06 together)
    assert (row.agency_id, row.cases_placed, row.amount_recovered, row.commission_owed) == (
        "AG1",
        2,
        D("0.06"),
        D("0.00"),
    )


def test_agencies_count_placements_of_the_period_and_money_received_while_placed() -> None:
    placements = [
        Placement("PL1", "AG1", 1, D("0.10"), date(2026, 2, 1), date(2026, 3, 10)),  # placed before March
        Placement("PL2", "AG2", 1, D("0.20"), date(2026, 3, 10), None),
        Placement("PL3", "AG3", 2, D("0.20"), date(2026, 3, 30), None),  # nothing received yet
    ]
    received = [
        Received(1, date(2026, 3, 9), D("100.00")),
        Received(1, date(2026, 3, 10), D("50.00")),
        Received(2, date(2026, 3, 1), D("70.00")),  # before PL3
    ]
    rows = {r.agency_id: r for r in agency_rows(placements, received, **MARCH)}
    assert (rows["AG1"].cases_placed, rows["AG1"].amount_recovered, rows["AG1"].commission_owed) == (
        0,
        D("100.00"),
        D("10.00"),
    )
    assert (rows["AG2"].cases_placed, rows["AG2"].amount_recovered, rows["AG2"].commission_owed) == (
        1,
        D("50.00"),
        D("10.00"),
    )
    assert (rows["AG3"].cases_placed, rows["AG3"].amount_recovered, rows["AG3"].commission_owed) == (
        1,
        D("0.00"),
        D("0.00"),
    )
