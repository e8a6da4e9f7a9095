"""Fund-use flags (资金流向追踪) in the risk and management reports (issue 15 item 4).

risk-alert raises a fund-use finding as an alert on the loan with one of `FUND_USE_RULES`; the
alert carries no amount, so reporting shows counts and the flagged loans' outstanding principal.
A flag is open at the end of day D when it was raised on or before D and not resolved by D. Per
rule, product, branch and in all: flags open, loans flagged (a loan with two rules counts once
outside the per-rule rows), their outstanding at the end of D, and flags raised and resolved from
the period's first day to D.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from postloan_reporting.domain.ratios import ZERO, money

FUND_USE_RULES: tuple[str, ...] = ("fund_forbidden_use", "fund_flow_back", "fund_untraced", "fund_splitting")


@dataclass(frozen=True, slots=True)
class FundFlag:
    """One fund-use alert on a loan, with the loan's segment and outstanding principal at the end of the day."""

    rule_id: str
    loan_id: str
    product: str
    branch: str
    raised_on: date
    resolved_on: date | None
    outstanding: Decimal  # 0 when the loan is no longer alive


@dataclass(frozen=True, slots=True)
class FundUseSlice:
    key: str  # a rule, a product, a branch or "all"
    open_flags: int
    loans_flagged: int
    outstanding_flagged: Decimal
    raised: int
    resolved: int


def is_open(flag: FundFlag, day: date) -> bool:
    """True when the flag was raised by the end of `day` and not resolved by then."""
    return flag.raised_on <= day and (flag.resolved_on is None or flag.resolved_on > day)


def fund_use_slice(key: str, flags: Iterable[FundFlag], *, start: date, day: date) -> FundUseSlice:
    """Open flags, distinct loans flagged and their outstanding, and the period's raised and resolved."""
    chosen = list(flags)
    open_now = [f for f in chosen if is_open(f, day)]
    loans = {f.loan_id: f.outstanding for f in open_now}
    return FundUseSlice(
        key,
        len(open_now),
        len(loans),
        money(sum(loans.values(), ZERO)),
        sum(1 for f in chosen if start <= f.raised_on <= day),
        sum(1 for f in chosen if f.resolved_on is not None and start <= f.resolved_on <= day),
    )


def fund_use_slices(
    flags: Iterable[FundFlag], key: Callable[[FundFlag], str], *, start: date, day: date, keys: Iterable[str] = ()
) -> list[FundUseSlice]:
    """One slice per value of `key` (every one of `keys` even without flags), sorted as `keys` then by name."""
    groups: dict[str, list[FundFlag]] = defaultdict(list, {k: [] for k in keys})
    for flag in flags:
        groups[key(flag)].append(flag)
    order = list(dict.fromkeys([*keys, *sorted(groups)]))
    return [fund_use_slice(name, groups[name], start=start, day=day) for name in order]
