"""The management report's content for one as-of date (rendered to HTML, PDF or XLSX elsewhere)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_reporting.domain.kpis import Kpis, Portfolio, kpis
from postloan_reporting.domain.model import month_start
from postloan_reporting.domain.roll_rates import MatrixRow
from postloan_reporting.domain.vintage import Curve
from postloan_reporting.service import reports, snapshots
from postloan_reporting.service.reports import CollectionsReport, Filters

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


def previous_month_end(as_of: date) -> date:
    """The last day of the month before `as_of`'s."""
    return month_start(as_of) - timedelta(days=1)


async def management_report(session: AsyncSession, *, as_of: date, filters: Filters) -> Management:
    """Headline KPIs against the previous month end, trends, aging, roll rates, vintages, collections."""
    previous = previous_month_end(as_of)
    trend = []
    for day in reports.observation_dates(as_of, TREND_MONTHS):
        rows = await snapshots.aggregate_rows(session, day=day, product=filters.product, branch=filters.branch)
        trend.append(TrendPoint(day, kpis(rows)))
    previous_rows = await snapshots.aggregate_rows(
        session, day=previous, product=filters.product, branch=filters.branch
    )
    start, end = reports.month_to_date(as_of)
    return Management(
        as_of=as_of,
        previous=previous,
        filters=filters,
        portfolio=await reports.portfolio_report(session, as_of=as_of, filters=filters),
        previous_kpis=kpis(previous_rows),
        trend=trend,
        roll_rates=await reports.roll_rates(session, start=previous, end=as_of, filters=filters),
        vintage=await reports.vintage_report(session, as_of=as_of, filters=filters),
        collections=await reports.collections_report(
            session, start=start, end=end, filters=filters, closed_through=as_of
        ),
    )
