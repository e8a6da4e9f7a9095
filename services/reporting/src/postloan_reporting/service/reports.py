"""Assemble the reports from the analytics store (the API and the management report call these)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_reporting.domain import collections as col
from postloan_reporting.domain.kpis import Portfolio, portfolio
from postloan_reporting.domain.model import add_months, month_end, month_start
from postloan_reporting.domain.ratios import ZERO
from postloan_reporting.domain.roll_rates import MatrixRow, Migration, matrix
from postloan_reporting.domain.vintage import Curve, Observation, curves
from postloan_reporting.service import snapshots
from postloan_reporting.store.queries import as_params, filters_sql, roll_rate_sql

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
    params: dict[str, Any] = {"d1": start, "d2": end}
    params.update({k: v for k, v in as_params(start, filters.product, filters.branch).items() if k != "day"})
    rows = await session.execute(text(roll_rate_sql(product=filters.product, branch=filters.branch)), params)
    return matrix(Migration(r.from_bucket, r.to_bucket, r.loans, r.balance) for r in rows)


def observation_dates(as_of: date, months: int = VINTAGE_MONTHS) -> list[date]:
    """Month ends before `as_of` (at most `months` of them) and `as_of` itself."""
    ends = [month_end(add_months(as_of, -k)) for k in range(months, 0, -1)]
    return [*ends, as_of] if month_end(as_of) != as_of else [*ends[1:], as_of]


async def vintage_report(session: AsyncSession, *, as_of: date, filters: Filters) -> list[Curve]:
    """30+ and 90+ curves per disbursement month, observed at month ends up to `as_of`."""
    params = as_params(as_of, filters.product, filters.branch)
    cohort_rows = await session.execute(
        text(
            "SELECT vintage, count(*) AS loans, sum(principal) AS disbursed FROM rpt_loan"
            f" WHERE registered AND disbursed_on <= :day{filters_sql(filters.product, filters.branch)}"
            " GROUP BY vintage"
        ),
        params,
    )
    cohorts = {r.vintage: (r.loans, r.disbursed) for r in cohort_rows}
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


def _loan_filter(filters: Filters) -> tuple[str, str]:
    """A join to rpt_loan and its filter clauses, when product or branch is filtered."""
    if filters.product is None and filters.branch is None:
        return "", ""
    return " JOIN rpt_loan l ON l.loan_key = x.loan_key", filters_sql(filters.product, filters.branch, "l.")


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
    join, where = _loan_filter(filters)
    params: dict[str, Any] = {"f": start, "t": end, **{k: v for k, v in vars_of(filters).items() if v is not None}}
    counts: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    queries = {
        "contacts": f"""
            SELECT coalesce(x.agent_id, '-') AS agent, coalesce(c.queue, '-') AS queue, count(*) AS attempts,
                   sum(x.connected::int) AS connected, sum(x.right_party::int) AS right_party
            FROM rpt_contact x LEFT JOIN rpt_case c ON c.case_id = x.case_id{join}
            WHERE x.business_date BETWEEN :f AND :t{where} GROUP BY 1, 2""",
        "made": f"""
            SELECT coalesce(x.agent_id, '-') AS agent, coalesce(c.queue, '-') AS queue, count(*) AS promises
            FROM rpt_promise x LEFT JOIN rpt_case c ON c.case_id = x.case_id{join}
            WHERE x.made_on BETWEEN :f AND :t{where} GROUP BY 1, 2""",
        "resolved": f"""
            SELECT coalesce(x.agent_id, '-') AS agent, coalesce(c.queue, '-') AS queue,
                   sum((x.status = 'kept')::int) AS kept, sum((x.status = 'broken')::int) AS broken
            FROM rpt_promise x LEFT JOIN rpt_case c ON c.case_id = x.case_id{join}
            WHERE x.resolved_on BETWEEN :f AND :t{where} GROUP BY 1, 2""",
        "cases": f"""
            SELECT coalesce(x.assignee, '-') AS agent, x.queue AS queue,
                   count(*) AS cases_worked,
                   sum((x.close_reason = 'cured' AND x.closed_on BETWEEN :f AND :t)::int) AS cases_cured,
                   sum((x.closed_on BETWEEN :f AND :t)::int) AS cases_closed,
                   coalesce(sum(x.amount_collected) FILTER (WHERE x.closed_on BETWEEN :f AND :t), 0) AS collected
            FROM rpt_case x{join}
            WHERE x.opened_on <= :t AND (x.closed_on IS NULL OR x.closed_on >= :f){where} GROUP BY 1, 2""",
    }
    for sql in queries.values():
        for row in (await session.execute(text(sql), params)).mappings():
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
        cei=await _cei(session, start=start, end=end, filters=filters, params=params),
        reminders=await _reminders(session, start=start, end=end, filters=filters, closed_through=closed_through),
    )


def vars_of(filters: Filters) -> dict[str, str | None]:
    """The filters as bind parameters."""
    return {"product": filters.product, "branch": filters.branch}


async def _cei(session: AsyncSession, *, start: date, end: date, filters: Filters, params: dict[str, Any]) -> col.Cei:
    opening_rows = await snapshots.aggregate_rows(
        session, day=start - timedelta(days=1), product=filters.product, branch=filters.branch
    )
    closing_rows = await snapshots.aggregate_rows(session, day=end, product=filters.product, branch=filters.branch)
    join, where = _loan_filter(filters)
    billed = (
        await session.execute(
            text(
                "SELECT coalesce(sum(x.amount_due), 0) AS billed,"
                " coalesce(sum(x.amount_due) FILTER (WHERE x.due_date = :t), 0) AS current"
                f" FROM rpt_installment x{join} WHERE x.due_date BETWEEN :f AND :t{where}"
            ),
            params,
        )
    ).one()
    return col.cei(
        opening=sum((r.overdue for r in opening_rows), ZERO),
        billed=billed.billed,
        closing_overdue=sum((r.overdue for r in closing_rows), ZERO),
        closing_current=billed.current,
    )


async def _reminders(
    session: AsyncSession, *, start: date, end: date, filters: Filters, closed_through: date
) -> col.ReminderEffect:
    # An installment counts once its due date is closed, i.e. once a miss would have been reported.
    join, where = _loan_filter(filters)
    params = {"f": start, "t": min(end, closed_through - timedelta(days=1)), **vars_of(filters)}
    rows = await session.execute(
        text(
            "SELECT (x.reminded_on IS NOT NULL AND x.reminded_on <= x.due_date) AS reminded,"
            " NOT x.missed AS paid, count(*) AS n"
            f" FROM rpt_installment x{join} WHERE x.due_date BETWEEN :f AND :t{where} GROUP BY 1, 2"
        ),
        {k: v for k, v in params.items() if v is not None},
    )
    items: list[col.Installment] = []
    for row in rows:
        items += [col.Installment(row.reminded, row.paid)] * row.n
    return col.reminder_effect(items)


@dataclass(frozen=True, slots=True)
class RiskReport:
    as_of: date
    score_bands: list[tuple[str, int, Decimal | None]]  # band, loans, mean PD
    grades: list[tuple[str, int]]
    open_alerts: list[tuple[str, str, int]]  # rule, severity, open at as_of
    raised_last_30_days: int


async def risk_report(session: AsyncSession, *, as_of: date, filters: Filters) -> RiskReport:
    """Latest score distribution of live loans and alerts open at the end of `as_of`."""
    join, where = _loan_filter(filters)
    params = {"day": as_of, **{k: v for k, v in vars_of(filters).items() if v is not None}}
    bands = await session.execute(
        text(
            "SELECT (x.score / 100) * 100 AS low, count(*) AS loans, avg(x.pd) AS mean_pd"
            f" FROM rpt_score x{join} WHERE true{where} GROUP BY 1 ORDER BY 1"
        ),
        params,
    )
    grades = await session.execute(
        text(f"SELECT x.grade, count(*) AS loans FROM rpt_score x{join} WHERE true{where} GROUP BY 1 ORDER BY 1"),
        params,
    )
    alert_join = ""
    alert_where = ""
    if filters.product is not None or filters.branch is not None:
        alert_join = " JOIN rpt_loan l ON l.loan_id = a.subject_id AND a.subject_type = 'loan'"
        alert_where = filters_sql(filters.product, filters.branch, "l.")
    open_alerts = await session.execute(
        text(
            "SELECT a.rule_id, coalesce(a.severity, '-') AS severity, count(*) AS n"
            f" FROM rpt_alert a{alert_join} WHERE a.raised_on <= :day"
            f" AND (a.resolved_on IS NULL OR a.resolved_on > :day){alert_where} GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        params,
    )
    raised = await session.execute(
        text(
            f"SELECT count(*) FROM rpt_alert a{alert_join}"
            f" WHERE a.raised_on BETWEEN CAST(:day AS date) - 29 AND :day{alert_where}"
        ),
        params,
    )
    return RiskReport(
        as_of=as_of,
        score_bands=[
            (
                f"{r.low}-{r.low + 99}",
                r.loans,
                None if r.mean_pd is None else Decimal(r.mean_pd).quantize(Decimal("0.000001")),
            )
            for r in bands
        ],
        grades=[(r.grade, r.loans) for r in grades],
        open_alerts=[(r.rule_id, r.severity, r.n) for r in open_alerts],
        raised_last_30_days=raised.scalar() or 0,
    )


def month_to_date(as_of: date) -> tuple[date, date]:
    """The first of `as_of`'s month and `as_of`."""
    return month_start(as_of), as_of


def iter_dates(days: Iterable[date]) -> list[date]:
    """Sorted unique dates."""
    return sorted(set(days))
