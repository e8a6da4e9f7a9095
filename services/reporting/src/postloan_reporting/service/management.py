"""The management report's content for one as-of date (rendered to HTML, PDF or XLSX elsewhere)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_reporting.domain.kpis import Kpis, Portfolio, kpis
from postloan_reporting.domain.model import month_start
from postloan_reporting.domain.roll_rates import MatrixRow, Migration
from postloan_reporting.domain.summary import SegmentRoll, Summary, executive_summary, segment_roll
from postloan_reporting.domain.vintage import Curve
from postloan_reporting.service import reports, snapshots
from postloan_reporting.service.effectiveness import Costs, MonthEffectiveness, month_effectiveness
from postloan_reporting.service.fund_use import FundUseReport, fund_use_report
from postloan_reporting.service.recoveries import RecoveriesReport, recoveries_report
from postloan_reporting.service.reports import CollectionsReport, Filters, RiskReport
from postloan_reporting.store import reports as report_store
from postloan_reporting.store import risk as risk_store

TREND_MONTHS = 12


@dataclass(frozen=True, slots=True)
class TrendPoint:
    day: date
    kpis: Kpis


@dataclass(frozen=True, slots=True)
class Management:
    as_of: date
    previous: date
    filters: Filters
    portfolio: Portfolio
    previous_kpis: Kpis
    trend: list[TrendPoint]
    roll_rates: list[MatrixRow]
    vintage: list[Curve]
    collections: CollectionsReport
    risk: RiskReport
    summary: Summary
    recoveries: RecoveriesReport  # loans written off in the month to date, agencies' commission
    fund_use: FundUseReport
    effectiveness: MonthEffectiveness  # the programme view and the experiments with cases opened in the month


def previous_month_end(as_of: date) -> date:
    """The last day of the month before `as_of`'s."""
    return month_start(as_of) - timedelta(days=1)


async def _segment_rolls(
    session: AsyncSession, *, start: date, end: date, filters: Filters, portfolio: Portfolio
) -> list[SegmentRoll]:
    """How much of each product's and branch's balance on `start` rolled to a worse bucket by `end`."""
    segments = [("product", s.key, Filters(s.key, filters.branch)) for s in portfolio.by_product]
    segments += [("branch", s.key, Filters(filters.product, s.key)) for s in portfolio.by_branch]
    rolls = []
    for dimension, key, scope in segments:
        cells = await report_store.migrations(session, start=start, end=end, product=scope.product, branch=scope.branch)
        rolls.append(segment_roll(dimension, key, (Migration(*cell) for cell in cells)))
    return rolls


async def management_report(session: AsyncSession, *, as_of: date, filters: Filters, costs: Costs) -> Management:
    """Every section as of `as_of`: summary, KPIs, trends, risk, recoveries, fund use, programme effectiveness."""
    previous = previous_month_end(as_of)
    trend = []
    for day in reports.observation_dates(as_of, TREND_MONTHS):
        rows = await snapshots.aggregate_rows(session, day=day, product=filters.product, branch=filters.branch)
        trend.append(TrendPoint(day, kpis(rows)))
    previous_rows = await snapshots.aggregate_rows(
        session, day=previous, product=filters.product, branch=filters.branch
    )
    start, end = reports.month_to_date(as_of)
    book = await reports.portfolio_report(session, as_of=as_of, filters=filters)
    before = kpis(previous_rows)
    npls = await risk_store.new_npls(
        session, before=previous, day=as_of, product=filters.product, branch=filters.branch
    )
    rolls = await _segment_rolls(session, start=previous, end=as_of, filters=filters, portfolio=book)
    return Management(
        as_of=as_of,
        previous=previous,
        filters=filters,
        portfolio=book,
        previous_kpis=before,
        trend=trend,
        roll_rates=await reports.roll_rates(session, start=previous, end=as_of, filters=filters),
        vintage=await reports.vintage_report(session, as_of=as_of, filters=filters),
        collections=await reports.collections_report(
            session, start=start, end=end, filters=filters, closed_through=as_of
        ),
        risk=await reports.risk_report(session, as_of=as_of, filters=filters),
        summary=executive_summary(now=book.kpis, before=before, new_npls=npls, segments=rolls),
        recoveries=await recoveries_report(session, start=start, end=end, filters=filters),
        fund_use=await fund_use_report(session, as_of=as_of, filters=filters),
        effectiveness=await month_effectiveness(session, start=start, end=end, as_of=as_of, costs=costs),
    )
