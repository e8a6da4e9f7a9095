"""SQL of the effectiveness report: an experiment's cases opened in a period with what happened on each."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# The cohort: cases of the experiment opened from :start to :end, each with the anchor (oldest unpaid due
# date) of its loan on the last day of its window, and its contact and promise outcomes (aggregated once by
# case and joined, so the report reads each table once rather than once per case).
_CASES = """
    WITH cohort AS (
        SELECT c.case_id, c.loan_key, c.arm, c.arm_role, c.opened_on, c.opened_dpd, c.closed_on, c.close_reason,
               COALESCE(c.amount_collected, 0) AS amount_collected
        FROM rpt_case c
        WHERE c.experiment = :experiment AND c.opened_on BETWEEN CAST(:start AS date) AND CAST(:end AS date)
    ), contacted AS (
        SELECT t.case_id, bool_or(t.right_party) AS right_party
        FROM rpt_contact t JOIN cohort k ON k.case_id = t.case_id
        GROUP BY t.case_id
    ), promised AS (
        SELECT p.case_id, count(*) FILTER (WHERE p.status = 'kept') AS kept,
               count(*) FILTER (WHERE p.status = 'broken') AS broken
        FROM rpt_promise p JOIN cohort k ON k.case_id = p.case_id
        GROUP BY p.case_id
    )
    SELECT k.case_id, k.arm, k.arm_role, k.opened_on, k.opened_dpd, k.closed_on, k.close_reason, k.amount_collected,
           (SELECT i.dpd_anchor FROM rpt_interval i
             WHERE i.loan_key = k.loan_key AND i.valid_from <= k.opened_on + CAST(:window AS int)
               AND i.valid_to > k.opened_on + CAST(:window AS int)) AS anchor_after,
           t.case_id IS NOT NULL AS contacted, COALESCE(t.right_party, false) AS right_party,
           p.case_id IS NOT NULL AS promised, COALESCE(p.kept, 0) AS kept, COALESCE(p.broken, 0) AS broken
    FROM cohort k LEFT JOIN contacted t ON t.case_id = k.case_id LEFT JOIN promised p ON p.case_id = k.case_id
    ORDER BY k.case_id
"""
# Collector attempts on the cohort's cases and the messages sent to its loans while their case was open.
_CHANNELS = """
    SELECT c.arm, 'attempt' AS kind, t.channel, count(*) AS n
    FROM rpt_case c JOIN rpt_contact t ON t.case_id = c.case_id
    WHERE c.experiment = :experiment AND c.opened_on BETWEEN CAST(:start AS date) AND CAST(:end AS date)
    GROUP BY c.arm, t.channel
    UNION ALL
    SELECT c.arm, 'message' AS kind, r.channel, count(*) AS n
    FROM rpt_case c JOIN rpt_reminder r ON r.loan_key = c.loan_key
     AND r.business_date BETWEEN c.opened_on AND COALESCE(c.closed_on, CAST(:as_of AS date))
    WHERE c.experiment = :experiment AND c.opened_on BETWEEN CAST(:start AS date) AND CAST(:end AS date)
    GROUP BY c.arm, r.channel
"""
_PRODUCTIVITY = """
    SELECT c.arm,
           count(DISTINCT (t.agent_id, t.case_id, t.business_date)) AS case_days,
           count(DISTINCT (t.agent_id, t.business_date)) AS collector_days
    FROM rpt_case c JOIN rpt_contact t ON t.case_id = c.case_id
    WHERE c.experiment = :experiment AND c.opened_on BETWEEN CAST(:start AS date) AND CAST(:end AS date)
      AND t.agent_id IS NOT NULL
    GROUP BY c.arm
"""

# Loans booked from :start to :end, and how many of them passed :threshold DPD within :horizon days of
# booking: an interval's DPD grows by one a day from its anchor, so its worst day is its last one inside
# the horizon.
_COHORT_DEFAULTS = """
    SELECT count(*) AS loans,
           count(*) FILTER (WHERE EXISTS (
               SELECT 1 FROM rpt_interval i
               WHERE i.loan_key = l.loan_key AND i.dpd_anchor IS NOT NULL
                 AND i.valid_from <= l.disbursed_on + CAST(:horizon AS int)
                 AND LEAST(i.valid_to - 1, l.disbursed_on + CAST(:horizon AS int)) - i.dpd_anchor
                     > CAST(:threshold AS int))) AS defaulted
    FROM rpt_loan l
    WHERE l.disbursed_on BETWEEN CAST(:start AS date) AND CAST(:end AS date)
"""

# The experiments with cases opened from :start to :end (the index on (experiment, opened_on) serves it).
_EXPERIMENTS = """
    SELECT DISTINCT c.experiment FROM rpt_case c
    WHERE c.experiment IS NOT NULL AND c.opened_on BETWEEN CAST(:start AS date) AND CAST(:end AS date)
    ORDER BY c.experiment
"""


def _params(experiment: str, start: date, end: date, **more: Any) -> dict[str, Any]:
    return {"experiment": experiment, "start": start, "end": end, **more}


async def cohort_cases(
    session: AsyncSession, *, experiment: str, start: date, end: date, window: int
) -> list[dict[str, Any]]:
    """The experiment's cases opened in `start`..`end` with their outcomes and loan anchor `window` days on."""
    params = _params(experiment, start, end, window=window)
    return [dict(r) for r in (await session.execute(text(_CASES), params)).mappings()]


async def channel_counts(
    session: AsyncSession, *, experiment: str, start: date, end: date, as_of: date
) -> dict[tuple[str, str], dict[str, int]]:
    """Per (arm, kind), the count per channel of collector attempts (kind `attempt`) on the cohort's cases and
    of automated messages (`message`) sent to their loans while the case was open (up to `as_of`)."""
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for row in (await session.execute(text(_CHANNELS), _params(experiment, start, end, as_of=as_of))).mappings():
        counts.setdefault((row["arm"], row["kind"]), {})[row["channel"]] = int(row["n"])
    return counts


async def productivity(session: AsyncSession, *, experiment: str, start: date, end: date) -> dict[str, tuple[int, int]]:
    """Per arm, (distinct collector-case-days, distinct collector-days) of attempts on the cohort's cases."""
    rows = (await session.execute(text(_PRODUCTIVITY), _params(experiment, start, end))).mappings()
    return {r["arm"]: (int(r["case_days"]), int(r["collector_days"])) for r in rows}


async def cohort_defaults(
    session: AsyncSession, *, start: date, end: date, horizon: int, threshold: int
) -> tuple[int, int]:
    """(defaulted, loans) of the loans booked `start`..`end`: more than `threshold` DPD within `horizon` days."""
    params = {"start": start, "end": end, "horizon": horizon, "threshold": threshold}
    row = (await session.execute(text(_COHORT_DEFAULTS), params)).mappings().one()
    return int(row["defaulted"]), int(row["loans"])


async def experiments(session: AsyncSession, *, start: date, end: date) -> list[str]:
    """The strategy experiments (crm's strategy ids) with cases opened `start`..`end`, in order."""
    rows = await session.execute(text(_EXPERIMENTS), {"start": start, "end": end})
    return [str(r[0]) for r in rows]
