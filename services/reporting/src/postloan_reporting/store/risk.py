"""The risk and management reports' reads: ECL, IFRS 9 stages, secured NPLs, reviews, new NPLs and fund-use flags
as of a day."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_reporting.domain.fund_use import FundFlag
from postloan_reporting.domain.model import NPL_RANKS
from postloan_reporting.domain.provisions import SecuredNpl, StageRow
from postloan_reporting.domain.reviews import ReviewCounts
from postloan_reporting.domain.summary import NewNpl
from postloan_reporting.store.queries import as_params, class_sql, dpd_sql, filters_sql

_ALIVE = "i.valid_from <= CAST(:day AS date) AND i.valid_to > CAST(:day AS date)"


async def stage_rows(session: AsyncSession, *, day: date, product: str | None, branch: str | None) -> list[StageRow]:
    """Loans, exposure and ECL per stage of the loans alive at the end of `day` (latest ECL by then)."""
    rows = await session.execute(
        text(
            "SELECT coalesce(e.ifrs9_stage, 1) AS stage, count(*) AS loans, sum(i.principal) AS exposure,"
            " coalesce(sum(e.ecl), 0) AS ecl"
            " FROM rpt_interval i LEFT JOIN LATERAL ("
            "   SELECT ifrs9_stage, ecl FROM rpt_loan_ecl e"
            "   WHERE e.loan_key = i.loan_key AND e.business_date <= CAST(:day AS date)"
            "   ORDER BY e.business_date DESC LIMIT 1) e ON true"
            f" WHERE {_ALIVE}{filters_sql(product, branch, 'i.')} GROUP BY 1 ORDER BY 1"
        ),
        as_params(day, product, branch),
    )
    return [StageRow(r.stage, r.loans, r.exposure, r.ecl) for r in rows]


async def review_counts(
    session: AsyncSession, *, start: date, day: date, product: str | None, branch: str | None
) -> list[ReviewCounts]:
    """Per branch: reviews due in `start`..`day`, completed, on time, and open past due at the end of `day`.

    A review of a loan no longer alive that was not completed was cancelled with the loan: not counted.
    """
    in_period = "r.due_on BETWEEN CAST(:start AS date) AND CAST(:day AS date)"
    rows = await session.execute(
        text(
            "SELECT coalesce(l.branch, '-') AS key,"
            f" count(*) FILTER (WHERE {in_period}) AS due,"
            f" count(*) FILTER (WHERE {in_period} AND r.completed_on <= CAST(:day AS date)) AS completed,"
            f" count(*) FILTER (WHERE {in_period} AND r.completed_on <= r.due_on) AS on_time,"
            " count(*) FILTER (WHERE r.due_on < CAST(:day AS date)"
            "   AND (r.completed_on IS NULL OR r.completed_on > CAST(:day AS date))) AS overdue"
            " FROM rpt_review r JOIN rpt_loan l ON l.loan_key = r.loan_key"
            " WHERE (r.scheduled_on IS NULL OR r.scheduled_on <= CAST(:day AS date))"
            "   AND (r.completed_on <= CAST(:day AS date)"
            f"     OR EXISTS (SELECT 1 FROM rpt_interval i WHERE i.loan_key = r.loan_key AND {_ALIVE}))"
            f"{filters_sql(product, branch, 'l.')} GROUP BY 1 ORDER BY 1"
        ),
        {"start": start, **as_params(day, product, branch)},
    )
    return [ReviewCounts(r.key, r.due, r.completed, r.on_time, r.overdue) for r in rows]


def _ranked(day: str) -> str:
    """Each loan alive at the end of `:{day}` with its balance and classification rank (DPD floor applied)."""
    return (
        f"SELECT loan_key, principal, {class_sql(dpd_sql(day))} AS class_rank FROM rpt_interval"
        f" WHERE valid_from <= CAST(:{day} AS date) AND valid_to > CAST(:{day} AS date)"
    )


async def secured_npls(
    session: AsyncSession, *, day: date, product: str | None, branch: str | None
) -> list[SecuredNpl]:
    """The loans non-performing at the end of `day`: outstanding and latest secured value by then (none: 0)."""
    rows = await session.execute(
        text(
            "SELECT n.principal AS outstanding, coalesce(s.secured_value, 0) AS secured_value"
            f" FROM ({_ranked('day')}{filters_sql(product, branch)}) n LEFT JOIN LATERAL ("
            "   SELECT secured_value FROM rpt_loan_secured s"
            "   WHERE s.loan_key = n.loan_key AND s.business_date <= CAST(:day AS date)"
            "   ORDER BY s.business_date DESC LIMIT 1) s ON true"
            f" WHERE n.class_rank >= {min(NPL_RANKS)}"
        ),
        as_params(day, product, branch),
    )
    return [SecuredNpl(r.outstanding, r.secured_value) for r in rows]


async def new_npls(
    session: AsyncSession, *, before: date, day: date, product: str | None, branch: str | None
) -> list[NewNpl]:
    """Loans non-performing at the end of `day` that were not at the end of `before` (or not alive then)."""
    rows = await session.execute(
        text(
            "SELECT l.loan_id, coalesce(l.product, '-') AS product, coalesce(l.branch, '-') AS branch,"
            " n.principal AS balance, n.class_rank"
            f" FROM ({_ranked('day')}{filters_sql(product, branch)}) n JOIN rpt_loan l ON l.loan_key = n.loan_key"
            f" LEFT JOIN ({_ranked('before')}) b ON b.loan_key = n.loan_key"
            f" WHERE n.class_rank >= {min(NPL_RANKS)} AND coalesce(b.class_rank, 0) < {min(NPL_RANKS)}"
            " ORDER BY n.principal DESC, l.loan_id"
        ),
        {"before": before, **as_params(day, product, branch)},
    )
    return [NewNpl(r.loan_id, r.product, r.branch, r.balance, r.class_rank) for r in rows]


async def fund_flags(
    session: AsyncSession, *, rules: tuple[str, ...], day: date, product: str | None, branch: str | None
) -> list[FundFlag]:
    """Fund-use alerts on loans raised by the end of `day`, with each loan's outstanding principal then (0: closed)."""
    rows = await session.execute(
        text(
            "SELECT a.rule_id, a.subject_id AS loan_id, coalesce(l.product, '-') AS product,"
            " coalesce(l.branch, '-') AS branch, a.raised_on, a.resolved_on, coalesce(i.principal, 0) AS outstanding"
            " FROM rpt_alert a JOIN rpt_loan l ON l.loan_id = a.subject_id"
            f" LEFT JOIN rpt_interval i ON i.loan_key = l.loan_key AND {_ALIVE}"
            " WHERE a.subject_type = 'loan' AND a.rule_id = ANY(:rules) AND a.raised_on <= CAST(:day AS date)"
            f"{filters_sql(product, branch, 'l.')} ORDER BY a.raised_on, a.alert_id"
        ),
        {"rules": list(rules), **as_params(day, product, branch)},
    )
    return [FundFlag(*r) for r in rows]
