"""The fund-use card of `make demo`: true misusers flagged, false flags, and each kind caught by its rule."""

from __future__ import annotations

from datetime import date

from postloan_dev.simulator.fund_use_check import FlagSeen, describe_fund_use, fund_use_card
from postloan_dev.simulator.truth import TruthRow


def _row(loan_id: str, misuse: str | None) -> TruthRow:
    return TruthRow(
        loan_id=loan_id, customer_id=f"C{loan_id}", product="p", branch="b", archetype="a", propensity=0.1,
        will_default=False, onset=None, default_90dpd=False, max_dpd=0, reached_30dpd_on=None,
        reached_90dpd_on=None, observed_from=date(2026, 1, 1), observed_to=date(2026, 3, 31), status="active",
        purpose="consumption", misuse=misuse,
    )  # fmt: skip


def test_the_card_counts_misusers_flagged_false_flags_and_each_kind_caught_by_its_own_rule() -> None:
    truth = [
        _row("L1", "forbidden_use"),
        _row("L2", "flow_back"),
        _row("L3", "splitting"),
        _row("L4", None),
        _row("L5", None),
    ]
    flags = [
        FlagSeen("L1", "fund_forbidden_use"),
        FlagSeen("L1", "fund_untraced"),  # a second flag on a misuser is not false
        FlagSeen("L2", "fund_forbidden_use"),  # flagged, but not by the flow-back rule
        FlagSeen("L4", "fund_untraced"),
        FlagSeen("X9", "fund_flow_back"),  # not a booked loan: ignored
    ]
    card = fund_use_card(truth, flags)

    assert (card.loans, card.misusers, card.misusers_flagged) == (5, 3, 2)
    assert (card.flags, card.false_flags) == (4, 1)
    assert card.by_kind == {"flow_back": (1, 0), "forbidden_use": (1, 1), "splitting": (1, 0)}
    lines = describe_fund_use(card)
    assert "misusers flagged: 2 of 3 (67%)" in lines[1]
    assert "false flags: 1 of 4" in lines[2]


def test_an_honest_book_without_flags_has_no_misusers_and_no_false_flags() -> None:
    card = fund_use_card([_row("L1", None)], [])

    assert (card.misusers, card.misusers_flagged, card.false_flags, card.recall) == (0, 0, 0, 0.0)
    assert card.by_kind == {}
