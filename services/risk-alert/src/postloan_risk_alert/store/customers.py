"""Customer aggregates of a close of day, the customer-rule read and the month-end feature snapshot."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.db import driver_connection
from postloan_risk_alert.domain import classification as cls
from postloan_risk_alert.domain import features


async def refresh_customers(session: AsyncSession, *, business_date: date) -> int:
    """Re-aggregate the customer features and scores of the customers touched in this run; return how many."""
    raw = await driver_connection(session)
    # The planner needs the size of the touched set to choose between index lookups and one hash join.
    await raw.execute("ANALYZE touched_customers")
    touched = int(await raw.fetchval("SELECT count(*) FROM touched_customers"))
    if not touched:
        return 0
    await raw.execute(
        f"""INSERT INTO customer_features AS cf (customer_id, segment, loan_count, outstanding, npl_outstanding,
               max_dpd, broken_promises, updated_at)
           SELECT f.customer_id, max(f.segment), count(*), sum(f.outstanding),
               coalesce(sum(f.outstanding) FILTER (WHERE {cls.npl_sql("c.category")}), 0),
               max(f.dpd), sum(f.broken_promises), now()
           FROM touched_customers t
           JOIN loan_features f ON f.customer_id = t.customer_id
           LEFT JOIN classifications c ON c.loan_id = f.loan_id
           WHERE f.status = 'active'
           GROUP BY f.customer_id
           ON CONFLICT (customer_id) DO UPDATE SET segment = excluded.segment, loan_count = excluded.loan_count,
               outstanding = excluded.outstanding, npl_outstanding = excluded.npl_outstanding,
               max_dpd = excluded.max_dpd, broken_promises = excluded.broken_promises, updated_at = now()
           WHERE (cf.segment, cf.loan_count, cf.outstanding, cf.npl_outstanding, cf.max_dpd, cf.broken_promises)
               IS DISTINCT FROM (excluded.segment, excluded.loan_count, excluded.outstanding,
                   excluded.npl_outstanding, excluded.max_dpd, excluded.broken_promises)"""
    )
    # A customer's score is that of their riskiest active loan.
    await raw.execute(
        """INSERT INTO customer_scores AS cs (customer_id, pd, score, grade, reason_codes, model_version, scored_on)
           SELECT DISTINCT ON (s.customer_id) s.customer_id, s.pd, s.score, s.grade, s.reason_codes, s.model_version, $1
           FROM touched_customers t
           JOIN loan_scores s ON s.customer_id = t.customer_id
           JOIN loan_features f ON f.loan_id = s.loan_id
           WHERE f.status = 'active'
           ORDER BY s.customer_id, s.pd DESC
           ON CONFLICT (customer_id) DO UPDATE SET pd = excluded.pd, score = excluded.score, grade = excluded.grade,
               reason_codes = excluded.reason_codes, model_version = excluded.model_version,
               scored_on = excluded.scored_on, updated_at = now()
           WHERE (cs.pd, cs.score, cs.grade, cs.reason_codes, cs.model_version)
               IS DISTINCT FROM (excluded.pd, excluded.score, excluded.grade, excluded.reason_codes,
                   excluded.model_version)""",
        business_date,
    )
    return touched


CUSTOMER_FETCH = """
SELECT cf.customer_id, cf.segment, cf.loan_count, cf.outstanding::float8 AS outstanding,
       CASE WHEN cf.outstanding > 0 THEN (cf.npl_outstanding / cf.outstanding)::float8 END AS npl_share,
       cf.max_dpd, cf.broken_promises, cf.debt_ratio::float8 AS debt_ratio, cf.current_ratio::float8 AS current_ratio,
       cf.interest_coverage::float8 AS interest_coverage, cf.revenue_change::float8 AS revenue_change,
       cf.debt_ratio_rises::float8 AS debt_ratio_rises,
       cs.pd::float8 AS pd, cs.score, cs.grade
FROM customer_features cf LEFT JOIN customer_scores cs ON cs.customer_id = cf.customer_id
"""


async def snapshot_features(session: AsyncSession, *, as_of: date) -> None:
    """Keep the month-end features of every active loan (the inputs of training on own history)."""
    raw = await driver_connection(session)
    await raw.execute(
        f"""INSERT INTO feature_snapshots (as_of, loan_id, features)
           SELECT $1, f.loan_id, jsonb_build_object(
               'dpd', f.dpd, 'max_dpd_3m', f.max_dpd_3m, 'max_dpd_6m', f.max_dpd_6m, 'max_dpd_12m', f.max_dpd_12m,
               'episodes_30', f.episodes_30, 'episodes_60', f.episodes_60, 'episodes_90', f.episodes_90,
               'months_since_delinquency', f.months_since_delinquency,
               'paid_due_ratio', {features.paid_due_ratio_sql(amount_paid="f.amount_paid", amount_due="f.amount_due")},
               'partial_share', CASE WHEN f.payments_count > 0 THEN f.partial_payments::numeric / f.payments_count END,
               'missed_count', f.missed_count, 'consecutive_misses', f.consecutive_misses,
               'broken_promises', f.broken_promises,
               'negative_contact_share', CASE WHEN f.contacts > 0 THEN f.contacts_negative::numeric / f.contacts END,
               'restructured', CASE WHEN f.restructured THEN 1 ELSE 0 END,
               'debt_ratio', cf.debt_ratio, 'current_ratio', cf.current_ratio, 'revenue_change', cf.revenue_change)
           FROM loan_features f LEFT JOIN customer_features cf ON cf.customer_id = f.customer_id
           WHERE f.status = 'active'
           ON CONFLICT DO NOTHING""",
        as_of,
    )
