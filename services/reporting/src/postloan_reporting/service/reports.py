"""Assemble the reports from the analytics store (the API and the management report call these)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_reporting.domain import collections as col
from postloan_reporting.domain.kpis import Portfolio, portfolio
from postloan_reporting.domain.model import add_months, month_end, month_start
from postloan_reporting.domain.provisions import Provisions, provisions
from postloan_reporting.domain.ratios import ZERO, rounded_ratio
from postloan_reporting.domain.reviews import ReviewSlice, review_slice, review_total
from postloan_reporting.domain.roll_rates import MatrixRow, Migration, matrix
from postloan_reporting.domain.vintage import Curve, Observation, curves
from postloan_reporting.service import snapshots
from postloan_reporting.store import reports as store
from postloan_reporting.store import risk as risk_store

VINTAGE_MONTHS = 24


class NoClosedDay(LookupError):
    """No business day has been closed yet, so there is no default `as_of`."""


class NotClosedYet(ValueError):
    """The requested date is after the latest closed business day."""


@dataclass(frozen=True, slots=True)
class Filters:
    product: str | None = None
    branch: str | None = None


async def resolve_as_of(session: AsyncSession, *, as_of: date | None) -> date:
    """The requested date, or the latest closed business day; never a day not closed yet."""
    latest = await snapshots.latest_closed_day(session)
    if latest is None:
        raise NoClosedDay("no business day has been closed yet")
    if as_of is None:
        return latest
    if as_of > latest:
        raise NotClosedYet(f"{as_of} is after the latest closed business day {latest}")
    return as_of


async def portfolio_report(session: AsyncSession, *, as_of: date, filters: Filters) -> Portfolio:
    """Portfolio KPIs, aging, classification and splits at the end of `as_of`."""
    rows = await snapshots.aggregate_rows(session, day=as_of, product=filters.product, branch=filters.branch)
    return portfolio(rows)


async def roll_rates(session: AsyncSession, *, start: date, end: date, filters: Filters) -> list[MatrixRow]:
    """The migration matrix from the end of `start` to the end of `end`."""
    cells = await store.migrations(session, start=start, end=end, product=filters.product, branch=filters.branch)
    return matrix(Migration(*cell) for cell in cells)


def observation_dates(as_of: date, months: int = VINTAGE_MONTHS) -> list[date]:
    """Month ends before `as_of` (at most `months` of them) and `as_of` itself."""
    ends = [month_end(add_months(as_of, -k)) for k in range(months, 0, -1)]
    return [*ends, as_of] if month_end(as_of) != as_of else [*ends[1:], as_of]


async def vintage_report(session: AsyncSession, *, as_of: date, filters: Filters) -> list[Curve]:
    """30+ and 90+ curves per disbursement month, observed at month ends up to `as_of`."""
    cohorts = await store.cohorts(session, day=as_of, product=filters.product, branch=filters.branch)
    if not cohorts:
        return []
    first = min(cohorts)
    observations = []
    for day in observation_dates(as_of):
        if day < first:
            continue
        totals = await snapshots.vintage_balances(session, day=day, product=filters.product, branch=filters.branch)
        for vintage in cohorts:
            if vintage <= day:
                b30, b90 = totals.get(vintage, (ZERO, ZERO))
                observations.append(Observation(vintage, day, b30, b90))
    return curves(cohorts, observations)


@dataclass(frozen=True, slots=True)
class CollectionsReport:
    start: date
    end: date
    overall: col.Performance
    by_agent: list[col.Performance]
    by_queue: list[col.Performance]
    funnel: list[tuple[str, int]]
    cei: col.Cei
    reminders: col.ReminderEffect


def _group(counts: dict[tuple[str, str], dict[str, Any]], pick: int | None) -> list[col.Performance]:
    merged: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    for key, values in counts.items():
        name = "all" if pick is None else key[pick]
        for field, value in values.items():
            merged[name][field] += value
    return [col.performance(col.Activity(name, **values)) for name, values in sorted(merged.items())]


async def collections_report(
    session: AsyncSession, *, start: date, end: date, filters: Filters, closed_through: date
) -> CollectionsReport:
    """Contact, promise, cure and CEI figures for `start`..`end`, overall, per agent and per queue."""
    counts: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    rows = await store.activity_rows(session, start=start, end=end, product=filters.product, branch=filters.branch)
    for row in rows:
        bucket = counts[(row["agent"], row["queue"])]
        for field, value in row.items():
            if field not in ("agent", "queue"):
                bucket[field] += value or 0
    [overall] = _group(counts, None) or [col.performance(col.Activity("all"))]
    activity = overall.activity
    funnel = [
        ("attempts", activity.attempts),
        ("connected", activity.connected),
        ("right_party", activity.right_party),
        ("promises", activity.promises),
        ("kept", activity.kept),
    ]
    return CollectionsReport(
        start=start,
        end=end,
        overall=overall,
        by_agent=_group(counts, 0),
        by_queue=_group(counts, 1),
        funnel=funnel,
        cei=await _cei(session, start=start, end=end, filters=filters),
        reminders=await _reminders(session, start=start, end=end, filters=filters, closed_through=closed_through),
    )


async def _cei(session: AsyncSession, *, start: date, end: date, filters: Filters) -> col.Cei:
    opening_rows = await snapshots.aggregate_rows(
        session, day=start - timedelta(days=1), product=filters.product, branch=filters.branch
    )
    closing_rows = await snapshots.aggregate_rows(session, day=end, product=filters.product, branch=filters.branch)
    billed, current = await store.billed(session, start=start, end=end, product=filters.product, branch=filters.branch)
    return col.cei(
        opening=sum((r.overdue for r in opening_rows), ZERO),
        billed=billed,
        closing_overdue=sum((r.overdue for r in closing_rows), ZERO),
        closing_current=current,
    )


async def _reminders(
    session: AsyncSession, *, start: date, end: date, filters: Filters, closed_through: date
) -> col.ReminderEffect:
    # An installment counts once its due date is closed, i.e. once a miss would have been reported.
    counted = await store.reminded_installments(
        session,
        start=start,
        end=min(end, closed_through - timedelta(days=1)),
        product=filters.product,
        branch=filters.branch,
    )
    items: list[col.Installment] = []
    for reminded, paid, n in counted:
        items += [col.Installment(reminded, paid)] * n
    return col.reminder_effect(items)


@dataclass(frozen=True, slots=True)
class RiskReport:
    as_of: date
    score_bands: list[tuple[str, int, Decimal | None]]  # band, loans, mean PD
    grades: list[tuple[str, int]]
    open_alerts: list[tuple[str, str, int]]  # rule, severity, open at as_of
    raised_last_30_days: int
    provisions: Provisions
    reviews_since: date  # reviews falling due from this day (the month's first) to as_of
    reviews: ReviewSlice
    reviews_by_branch: list[ReviewSlice]


async def risk_report(session: AsyncSession, *, as_of: date, filters: Filters) -> RiskReport:
    """Scores, open alerts, ECL and stage mix with provision and NPL collateral coverage, and reviews at `as_of`."""
    product, branch = filters.product, filters.branch
    bands = await store.score_bands(session, product=product, branch=branch)
    npl_balance = (await portfolio_report(session, as_of=as_of, filters=filters)).kpis.npl_balance
    stages = await risk_store.stage_rows(session, day=as_of, product=product, branch=branch)
    secured = await risk_store.secured_npls(session, day=as_of, product=product, branch=branch)
    since = month_start(as_of)
    reviews = await risk_store.review_counts(session, start=since, day=as_of, product=product, branch=branch)
    return RiskReport(
        as_of=as_of,
        score_bands=[
            (f"{low}-{low + 99}", loans, None if mean_pd is None else rounded_ratio(mean_pd))
            for low, loans, mean_pd in bands
        ],
        grades=await store.grades(session, product=product, branch=branch),
        open_alerts=await store.open_alerts(session, day=as_of, product=product, branch=branch),
        raised_last_30_days=await store.alerts_raised(session, day=as_of, days=30, product=product, branch=branch),
        provisions=provisions(stages, npl_balance=npl_balance, secured_npls=secured),
        reviews_since=since,
        reviews=review_total(reviews),
        reviews_by_branch=[review_slice(r) for r in reviews],
    )


def month_to_date(as_of: date) -> tuple[date, date]:
    """The first of `as_of`'s month and `as_of`."""
    return month_start(as_of), as_of


def iter_dates(days: Iterable[date]) -> list[date]:
    """Sorted unique dates."""
    return sorted(set(days))
