"""The management report's executive summary: its figures (domain) and its sentences (zh-CN, en)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

from postloan_reporting.domain.kpis import AggRow, kpis
from postloan_reporting.domain.roll_rates import Migration
from postloan_reporting.domain.summary import NewNpl, executive_summary, largest_move, segment_roll
from postloan_reporting.render.i18n import summary_lines

BEFORE = kpis([AggRow("P1", "B1", None, 0, 0, 9, D("9000")), AggRow("P1", "B1", None, 1, 1, 1, D("1000"))])
# one loan of 2,000 now 45 DPD and substandard: overdue rate 0.1 → 0.25, PAR30 0 → 0.166667, NPL 0 → 0.166667
NOW = kpis(
    [
        AggRow("P1", "B1", None, 0, 0, 8, D("8000")),
        AggRow("P1", "B1", None, 1, 1, 1, D("2000")),
        AggRow("P1", "B1", None, 2, 2, 1, D("2000")),
    ]
)


def test_the_move_is_the_headline_ratio_that_changed_most_in_percentage_points() -> None:
    move = largest_move(NOW, BEFORE)
    assert move is not None and move.key == "overdue_rate"
    assert (move.before, move.now, move.change) == (D("0.100000"), D("0.333333"), D("0.233333"))
    assert largest_move(BEFORE, BEFORE) is None  # nothing moved: nothing to say
    assert largest_move(NOW, kpis([])) is None  # no ratio defined a month ago


def test_a_segment_rolls_by_the_share_of_its_balance_moving_to_a_worse_bucket() -> None:
    cells = [Migration(0, 0, 6, D("6000")), Migration(0, 2, 1, D("1000")), Migration(1, 0, 1, D("500"))]
    roll = segment_roll("product", "P1", [*cells, Migration(1, None, 1, D("2500"))])  # a closure is no roll
    assert (roll.balance, roll.rolled, roll.rate) == (D("10000.00"), D("1000.00"), D("0.100000"))
    assert segment_roll("branch", "B9", []).rate is None


def test_the_summary_ranks_new_npls_by_balance_and_names_the_worst_rolling_segment() -> None:
    npls = [NewNpl(f"L{i}", "P1", "B1", D(amount), 2) for i, amount in enumerate(("500", "3000", "900", "3000"))]
    segments = [
        segment_roll("product", "P1", [Migration(0, 1, 1, D("100")), Migration(0, 0, 9, D("900"))]),
        segment_roll("branch", "B1", [Migration(0, 1, 1, D("200")), Migration(0, 0, 18, D("1800"))]),  # same rate
        segment_roll("branch", "B2", [Migration(0, 0, 5, D("5000"))]),
    ]
    summary = executive_summary(now=NOW, before=BEFORE, new_npls=npls, segments=segments)
    assert (summary.new_npl_count, summary.new_npl_balance) == (4, D("7400.00"))
    assert [n.loan_id for n in summary.largest_new_npls] == ["L1", "L3", "L2"]
    assert summary.worst_segment is not None and summary.worst_segment.key == "B1"  # the tie goes to more rolled
    quiet = executive_summary(now=BEFORE, before=BEFORE, new_npls=[], segments=segments[2:])
    assert (quiet.move, quiet.new_npl_count, quiet.worst_segment) == (None, 0, None)


def test_the_summary_reads_in_chinese_and_in_english() -> None:
    npls = [NewNpl("L7", "P1", "B1", D("2000"), 2)]
    roll = segment_roll("branch", "B1", [Migration(0, 2, 1, D("2000")), Migration(0, 0, 8, D("8000"))])
    summary = executive_summary(now=NOW, before=BEFORE, new_npls=npls, segments=[roll])
    assert summary_lines(summary, "zh-CN") == [
        "较上月末变动最大的指标是逾期率：由 10.00% 变为 33.33%（+23.33个百分点）。",
        "本期新增不良贷款 1 笔，余额 2,000.00；最大的为：L7（P1/B1，次级，2,000.00）。",
        "迁徙最差的是机构 B1：上月末余额的 20.00%（2,000.00）滚入更差的逾期档。",
    ]
    assert summary_lines(summary, "en") == [
        "The largest move since the previous month end: Overdue rate from 10.00% to 33.33% (+23.33 pp).",
        "Loans newly non-performing: 1, 2,000.00 in all; the largest: L7 (P1/B1, Substandard, 2,000.00).",
        "Worst-rolling segment: branch B1, 20.00% of its balance (2,000.00) rolled to a worse bucket.",
    ]
    quiet = dataclasses.replace(summary, move=None, new_npl_count=0, largest_new_npls=[], worst_segment=None)
    assert summary_lines(quiet, "zh-CN") == [
        "各项比率指标较上月末均无变化。",
        "本期无新增不良贷款。",
        "上月末余额均未滚入更差的逾期档。",
    ]
