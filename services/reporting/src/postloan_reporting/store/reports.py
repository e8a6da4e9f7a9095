"""The reports' reads beyond the snapshots: roll rates, cohorts, collections, scores and alerts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_reporting.store.queries import as_params, filters_sql, roll_rate_sql


def _bound(product: str | None, branch: str | None) -> dict[str, Any]:
    return {k: v for k, v in {"product": product, "branch": branch}.items() if v is not None}


def _loan_filter(product: str | None, branch: str | None) -> tuple[str, str]:
    """A join to rpt_loan and its filter clauses, when product or branch is filtered."""
    if product is None and branch is None:
        return "", ""
    return " JOIN rpt_loan l ON l.loan_key = x.loan_key", filters_sql(product, branch, "l.")


async def migrations(
    session: AsyncSession, *, start: date, end: date, product: str | None, branch: str | None
) -> list[tuple[int, int | None, int, Decimal]]:
    """(from bucket, to bucket or None when closed, loans, balance on `start`) per cell."""
    params: dict[str, Any] = {"d1": start, "d2": end}
    params.update({k: v for k, v in as_params(start, product, branch).items() if k != "day"})
    rows = await session.execute(text(roll_rate_sql(product=product, branch=branch)), params)
    return [(r.from_bucket, r.to_bucket, r.loans, r.balance) for r in rows]


async def cohorts(
    session: AsyncSession, *, day: date, product: str | None, branch: str | None
) -> dict[date, tuple[int, Decimal]]:
    """Loans and disbursed principal per vintage of the loans disbursed by `day`."""
    rows = await session.execute(
        text(
            "SELECT vintage, count(*) AS loans, sum(principal) AS disbursed FROM rpt_loan"
            f" WHERE registered AND disbursed_on <= :day{filters_sql(product, branch)}"
            " GROUP BY vintage"
        ),
        as_params(day, product, branch),
    )
    return {r.vintage: (r.loans, r.disbursed) for r in rows}


def _activity_queries(join: str, where: str) -> list[str]:
    return [
        f"""
            SELECT coalesce(x.agent_id, '-') AS agent, coalesce(c.queue, '-') AS queue, count(*) AS attempts,
                   sum(x.connected::int) AS connected, sum(x.right_party::int) AS right_party
            FROM rpt_contact x LEFT JOIN rpt_case c ON c.case_id = x.case_id{join}
            WHERE x.business_date BETWEEN :f AND :t{where} GROUP BY 1, 2""",
        f"""
            SELECT coalesce(x.agent_id, '-') AS agent, coalesce(c.queue, '-') AS queue, count(*) AS promises
            FROM rpt_promise x LEFT JOIN rpt_case c ON c.case_id = x.case_id{join}
            WHERE x.made_on BETWEEN :f AND :t{where} GROUP BY 1, 2""",
        f"""
            SELECT coalesce(x.agent_id, '-') AS agent, coalesce(c.queue, '-') AS queue,
                   sum((x.status = 'kept')::int) AS kept, sum((x.status = 'broken')::int) AS broken
            FROM rpt_promise x LEFT JOIN rpt_case c ON c.case_id = x.case_id{join}
            WHERE x.resolved_on BETWEEN :f AND :t{where} GROUP BY 1, 2""",
        f"""
            SELECT coalesce(x.assignee, '-') AS agent, x.queue AS queue,
                   count(*) AS cases_worked,
                   sum((x.close_reason = 'cured' AND x.closed_on BETWEEN :f AND :t)::int) AS cases_cured,
                   sum((x.closed_on BETWEEN :f AND :t)::int) AS cases_closed,
                   coalesce(sum(x.amount_collected) FILTER (WHERE x.closed_on BETWEEN :f AND :t), 0) AS collected
            FROM rpt_case x{join}
            WHERE x.opened_on <= :t AND (x.closed_on IS NULL OR x.closed_on >= :f){where} GROUP BY 1, 2""",
    ]


async def activity_rows(
    session: AsyncSession, *, start: date, end: date, product: str | None, branch: str | None
) -> list[dict[str, Any]]:
    """Contact, promise and case counts per (agent, queue), one row per query and group."""
    join, where = _loan_filter(product, branch)
    params = {"f": start, "t": end, **_bound(product, branch)}
    rows: list[dict[str, Any]] = []
    for sql in _activity_queries(join, where):
        rows += [dict(row) for row in (await session.execute(text(sql), params)).mappings()]
    return rows


async def billed(
    session: AsyncSession, *, start: date, end: date, product: str | None, branch: str | None
) -> tuple[Decimal, Decimal]:
    """Amount due on installments due in `start`..`end`, and of those due on `end`."""
    join, where = _loan_filter(product, branch)
    row = (
        await session.execute(
            text(
                "SELECT coalesce(sum(x.amount_due), 0) AS billed,"
                " coalesce(sum(x.amount_due) FILTER (WHERE x.due_date = :t), 0) AS current"
                f" FROM rpt_installment x{join} WHERE x.due_date BETWEEN :f AND :t{where}"
            ),
            {"f": start, "t": end, **_bound(product, branch)},
        )
    ).one()
    return row.billed, row.current


async def reminded_installments(
    session: AsyncSession, *, start: date, end: date, product: str | None, branch: str | None
) -> list[tuple[bool, bool, int]]:
    """(reminded by the due date, paid, count) of the installments due in `start`..`end`."""
    join, where = _loan_filter(product, branch)
    rows = await session.execute(
        text(
            "SELECT (x.reminded_on IS NOT NULL AND x.reminded_on <= x.due_date) AS reminded,"
            " NOT x.missed AS paid, count(*) AS n"
            f" FROM rpt_installment x{join} WHERE x.due_date BETWEEN :f AND :t{where} GROUP BY 1, 2"
        ),
        {"f": start, "t": end, **_bound(product, branch)},
    )
    return [(r.reminded, r.paid, r.n) for r in rows]


async def score_bands(
    session: AsyncSession, *, product: str | None, branch: str | None
) -> list[tuple[int, int, Decimal | None]]:
    """(lowest score of the band of 100, loans, mean PD) per band of the latest scores."""
    join, where = _loan_filter(product, branch)
    rows = await session.execute(
        text(
            "SELECT (x.score / 100) * 100 AS low, count(*) AS loans, avg(x.pd) AS mean_pd"
            f" FROM rpt_score x{join} WHERE true{where} GROUP BY 1 ORDER BY 1"
        ),
        _bound(product, branch),
    )
    return [(r.low, r.loans, r.mean_pd) for r in rows]


async def grades(session: AsyncSession, *, product: str | None, branch: str | None) -> list[tuple[str, int]]:
    """Loans per grade of the latest scores."""
    join, where = _loan_filter(product, branch)
    rows = await session.execute(
        text(f"SELECT x.grade, count(*) AS loans FROM rpt_score x{join} WHERE true{where} GROUP BY 1 ORDER BY 1"),
        _bound(product, branch),
    )
    return [(r.grade, r.loans) for r in rows]


def _alert_filter(product: str | None, branch: str | None) -> tuple[str, str]:
    if product is None and branch is None:
        return "", ""
    join = " JOIN rpt_loan l ON l.loan_id = a.subject_id AND a.subject_type = 'loan'"
    return join, filters_sql(product, branch, "l.")


async def open_alerts(
    session: AsyncSession, *, day: date, product: str | None, branch: str | None
) -> list[tuple[str, str, int]]:
    """(rule, severity, count) of the alerts open at the end of `day`."""
    join, where = _alert_filter(product, branch)
    rows = await session.execute(
        text(
            "SELECT a.rule_id, coalesce(a.severity, '-') AS severity, count(*) AS n"
            f" FROM rpt_alert a{join} WHERE a.raised_on <= :day"
            f" AND (a.resolved_on IS NULL OR a.resolved_on > :day){where} GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        {"day": day, **_bound(product, branch)},
    )
    return [(r.rule_id, r.severity, r.n) for r in rows]


async def alerts_raised(session: AsyncSession, *, day: date, days: int, product: str | None, branch: str | None) -> int:
    """Alerts raised in the `days` days ending with `day`."""
    join, where = _alert_filter(product, branch)
    rows = await session.execute(
        text(f"SELECT count(*) FROM rpt_alert a{join} WHERE a.raised_on BETWEEN CAST(:first AS date) AND :day{where}"),
        {"day": day, "first": day - timedelta(days=days - 1), **_bound(product, branch)},
    )
    return rows.scalar() or 0
