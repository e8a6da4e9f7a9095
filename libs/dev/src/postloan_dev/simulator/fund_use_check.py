"""How well risk-alert's fund-use tracking finds the simulation's true misusers (issue 15 item 6).

Two figures: how many of the loans whose proceeds were truly misused (truth.csv's `misuse`) got a
fund-use flag, and how many flags fell on loans whose proceeds were not misused (false flags);
per kind of misuse, how many the rule meant for it caught.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from postloan_dev.simulator.flows import RULE_OF
from postloan_dev.simulator.truth import TruthRow


@dataclass(frozen=True)
class FlagSeen:
    """A fund-use flag risk-alert raised on a loan (GET /v1/fund-use/flags)."""

    loan_id: str
    rule: str


@dataclass(frozen=True)
class FundUseCard:
    """The figures of the module docstring."""

    loans: int
    misusers: int
    misusers_flagged: int
    flags: int
    false_flags: int
    # Per kind of misuse: its loans, and how many of them the rule meant for it flagged.
    by_kind: dict[str, tuple[int, int]]

    @property
    def recall(self) -> float:
        return self.misusers_flagged / self.misusers if self.misusers else 0.0


def fund_use_card(truth: Sequence[TruthRow], flags: Sequence[FlagSeen]) -> FundUseCard:
    """Misusers flagged and false flags over the booked loans (flags on loans outside the truth are ignored)."""
    misuse = {r.loan_id: r.misuse for r in truth}
    known = [f for f in flags if f.loan_id in misuse]
    flagged = {f.loan_id for f in known}
    rules = {(f.loan_id, f.rule) for f in known}
    kinds = sorted({m for m in misuse.values() if m})
    by_kind = {
        kind: (
            sum(1 for m in misuse.values() if m == kind),
            sum(1 for loan, m in misuse.items() if m == kind and (loan, RULE_OF[kind]) in rules),
        )
        for kind in kinds
    }
    return FundUseCard(
        loans=len(truth),
        misusers=sum(1 for m in misuse.values() if m),
        misusers_flagged=sum(1 for loan in flagged if misuse[loan]),
        flags=len(known),
        false_flags=sum(1 for f in known if not misuse[f.loan_id]),
        by_kind=by_kind,
    )


def describe_fund_use(card: FundUseCard) -> list[str]:
    """The card as the lines `make demo` prints."""
    lines = [
        f"fund use on {card.loans} loans, {card.misusers} with misused proceeds:",
        f"  misusers flagged: {card.misusers_flagged} of {card.misusers} ({card.recall:.0%})",
        f"  false flags: {card.false_flags} of {card.flags} flags (on loans whose proceeds were not misused)",
    ]
    lines += [
        f"    {kind}: {caught} of {loans} caught by {RULE_OF[kind]}" for kind, (loans, caught) in card.by_kind.items()
    ]
    return lines
