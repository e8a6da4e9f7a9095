"""The fund-use report: loans risk-alert flagged for their use of funds, by rule, product and branch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_reporting.domain.fund_use import FUND_USE_RULES, FundUseSlice, fund_use_slice, fund_use_slices
from postloan_reporting.domain.model import month_start
from postloan_reporting.service.reports import Filters
from postloan_reporting.store import risk as store


@dataclass(frozen=True, slots=True)
class FundUseReport:
    as_of: date
    since: date  # raised and resolved count from this day (the month's first) to as_of
    total: FundUseSlice
    by_rule: list[FundUseSlice]
    by_product: list[FundUseSlice]
    by_branch: list[FundUseSlice]


async def fund_use_report(session: AsyncSession, *, as_of: date, filters: Filters) -> FundUseReport:
    """Fund-use flags open at the end of `as_of` and raised or resolved in its month to date."""
    flags = await store.fund_flags(
        session, rules=FUND_USE_RULES, day=as_of, product=filters.product, branch=filters.branch
    )
    since = month_start(as_of)
    return FundUseReport(
        as_of=as_of,
        since=since,
        total=fund_use_slice("all", flags, start=since, day=as_of),
        by_rule=fund_use_slices(flags, lambda f: f.rule_id, keys=FUND_USE_RULES, start=since, day=as_of),
        by_product=fund_use_slices(flags, lambda f: f.product, start=since, day=as_of),
        by_branch=fund_use_slices(flags, lambda f: f.branch, start=since, day=as_of),
    )
