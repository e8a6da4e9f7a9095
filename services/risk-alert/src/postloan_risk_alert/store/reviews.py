"""Review tasks in SQL: the close-of-day scheduling statements (rows and their events together) and reads."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_risk_alert.domain.classification import CATEGORIES
from postloan_risk_alert.domain.reviews import routine_interval_sql
from postloan_risk_alert.store.events import emit_sql
from postloan_risk_alert.store.rows import row_by_key
from postloan_risk_alert.store.tables import alerts, review_documents, review_policy, reviews

# The terms of each (product, segment) in use, resolved in Python (domain/reviews.py::terms_for): $2..$9.
TERMS_CTE = """terms AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::int[], $5::int[], $6::int[], $7::int[], $8::numeric[],
        $9::int[]) AS t(product, segment, first_after_days, normal_every_days, special_mention_every_days,
        npl_every_days, large_exposure, large_exposure_every_days)
)"""
TERMS_PARAMS = 8

_REVIEW_ID = "'RV-' || md5(n.loan_id || '/' || n.kind || '/' || n.due_on::text || '/' || $1::text)"
_DUE_DATA = """SELECT loan_id AS subject, json_build_object('review_id', review_id, 'loan_id', loan_id,
        'customer_id', customer_id, 'kind', kind, 'reason', reason, 'due_on', due_on::text,
        'assignee', assignee) AS data FROM ins"""


def _insert(candidates: str) -> str:
    """Insert new open reviews from CTE `n` (loan_id, customer_id, kind, reason, due_on); one per loan and kind."""
    return f"""ins AS (
    INSERT INTO reviews (review_id, loan_id, customer_id, kind, reason, due_on, status, created_on)
    SELECT {_REVIEW_ID}, n.loan_id, n.customer_id, n.kind, n.reason, n.due_on, 'due', $1 FROM ({candidates}) n
    ON CONFLICT (loan_id, kind) WHERE status IN ('due', 'overdue') DO NOTHING
    RETURNING review_id, loan_id, customer_id, kind, reason, due_on, assignee
),
d AS ({_DUE_DATA})"""


# A loan closed (or written off): its open reviews are moot.
CANCEL_CLOSED = """
UPDATE reviews r SET status = 'cancelled', updated_at = now()
FROM loan_features f
WHERE f.loan_id = r.loan_id AND f.status <> 'active' AND r.status IN ('due', 'overdue')
"""

_INTERVAL = routine_interval_sql(category="coalesce(c.category, 'normal')", outstanding="f.outstanding", terms="t")

_FIRST = """SELECT f.loan_id, f.customer_id, 'first' AS kind, 'first_review' AS reason,
        f.disbursed_on + t.first_after_days AS due_on
    FROM loan_features f JOIN terms t ON t.product = f.product AND t.segment = f.segment
    LEFT JOIN had ON had.loan_id = f.loan_id
    WHERE f.status = 'active' AND f.disbursed_on + t.first_after_days - $10::int <= $1 AND had.loan_id IS NULL"""

_ROUTINE = f"""SELECT f.loan_id, f.customer_id, 'routine' AS kind,
        'routine_' || coalesce(c.category, 'normal') AS reason, a.since + {_INTERVAL} AS due_on
    FROM loan_features f JOIN terms t ON t.product = f.product AND t.segment = f.segment
    JOIN anchor a ON a.loan_id = f.loan_id
    LEFT JOIN classifications c ON c.loan_id = f.loan_id
    WHERE f.status = 'active' AND a.since + {_INTERVAL} - $10::int <= $1"""

_TRIGGERED = """SELECT DISTINCT ON (loan_id) loan_id, customer_id, 'triggered' AS kind, reason, $2::date AS due_on
    FROM trig ORDER BY loan_id, priority"""

# First reviews: disbursement + the terms' days; $1 business date, $2..$9 terms, $10 notice days, envelope from $11.
FIRST_REVIEWS = f"""
WITH {TERMS_CTE},
-- Materialised once: a per-loan probe would rescan the rows this statement inserts (quadratic).
had AS MATERIALIZED (SELECT DISTINCT loan_id FROM reviews WHERE kind = 'first'),
{_insert(_FIRST)}
{emit_sql(source="d", type_="review-due", first_param=11)}
"""

# The next routine review: the interval of today's classification after the last completed review
# (or after the first review's due date while none is done); parameters as FIRST_REVIEWS.
ROUTINE_REVIEWS = f"""
WITH {TERMS_CTE},
anchor AS (
    SELECT loan_id, coalesce(max(completed_on), max(due_on) FILTER (WHERE kind = 'first')) AS since
    FROM reviews WHERE status = 'done' OR kind = 'first' GROUP BY loan_id
),
{_insert(_ROUTINE)}
{emit_sql(source="d", type_="review-due", first_param=11)}
"""

# Triggered reviews: a high-severity alert raised today (a customer's alert reaches all its loans) or a
# classification worse than at the last close of day; $1 business date, $2 due date, $3 categories,
# envelope from $4. A review's own breach alert is its follow-up already, not a new trigger.
TRIGGERED_REVIEWS = f"""
WITH trig AS (
    SELECT f.loan_id, f.customer_id,
        CASE WHEN a.rule_id IN ('ltv-above-0.8', 'collateral-valuation-stale', 'collateral-insurance-expiring')
             THEN 'collateral_breach'
             WHEN a.rule_id IN ('guarantor-delinquent', 'guarantor-npl', 'guarantee-expired') THEN 'guarantee_risk'
             ELSE 'high_severity_alert' END AS reason, 1 AS priority
    FROM alerts a JOIN loan_features f
      ON (a.subject_type = 'loan' AND f.loan_id = a.subject_id)
      OR (a.subject_type = 'customer' AND f.customer_id = a.subject_id)
    WHERE a.raised_on = $1 AND a.severity IN ('high', 'critical') AND a.rule_id <> 'review-breach'
      AND f.status = 'active'
    UNION ALL
    SELECT c.loan_id, c.customer_id, 'classification_downgrade', 0
    FROM classifications c JOIN review_watch w ON w.loan_id = c.loan_id
    JOIN loan_features f ON f.loan_id = c.loan_id AND f.status = 'active'
    WHERE array_position($3::text[], c.category) > array_position($3::text[], w.category)
),
{_insert(_TRIGGERED)}
{emit_sql(source="d", type_="review-due", first_param=4)}
"""
WATCH_CLASSIFICATIONS = """
INSERT INTO review_watch AS w (loan_id, category) SELECT loan_id, category FROM classifications
ON CONFLICT (loan_id) DO UPDATE SET category = excluded.category WHERE w.category <> excluded.category
"""

# Due reviews whose date passed become overdue; $1 business date, envelope from $2.
MARK_OVERDUE = f"""
WITH upd AS (
    UPDATE reviews SET status = 'overdue', updated_at = now() WHERE status = 'due' AND due_on < $1
    RETURNING review_id, loan_id, customer_id, kind, due_on, assignee
),
d AS (
    SELECT loan_id AS subject, json_build_object('review_id', review_id, 'loan_id', loan_id,
        'customer_id', customer_id, 'kind', kind, 'due_on', due_on::text, 'assignee', assignee) AS data
    FROM upd
)
{emit_sql(source="d", type_="review-overdue", first_param=2)}
"""

CATEGORY_NAMES = list(CATEGORIES)


async def load_policy(session: AsyncSession) -> tuple[dict[str, Any] | None, int]:
    """The stored policy document and its version (None, 0 when never set)."""
    row = (await session.execute(select(review_policy.c.policy, review_policy.c.version))).first()
    return (row.policy, row.version) if row else (None, 0)


async def get_review(session: AsyncSession, review_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    """One review row, or None."""
    return await row_by_key(session, reviews.c.review_id, review_id, for_update=for_update)


async def list_reviews(
    session: AsyncSession,
    *,
    filters: dict[str, Any],
    due_before: date | None,
    after: tuple[date, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Reviews by due date then id, filtered by equality on `filters` columns; `limit + 1` rows."""
    conditions = [reviews.c[name] == value for name, value in filters.items() if value is not None]
    if due_before is not None:
        conditions.append(reviews.c.due_on < due_before)
    if after is not None:
        conditions.append(tuple_(reviews.c.due_on, reviews.c.review_id) > tuple_(*after))
    query = select(reviews).order_by(reviews.c.due_on, reviews.c.review_id).limit(limit + 1)
    if conditions:
        query = query.where(and_(*conditions))
    return [dict(r._mapping) for r in await session.execute(query)]


async def documents_of(session: AsyncSession, review_id: str) -> dict[str, dict[str, Any]]:
    """The uploaded documents of a review by sha256 (without their bytes)."""
    rows = await session.execute(
        select(
            review_documents.c.sha256, review_documents.c.name, review_documents.c.media_type, review_documents.c.size
        ).where(review_documents.c.review_id == review_id)
    )
    return {r.sha256: dict(r._mapping) for r in rows}


async def open_alert_id(session: AsyncSession, *, rule_id: str, loan_id: str) -> str | None:
    """The open (or acknowledged) alert of a rule on a loan."""
    return (
        await session.execute(
            select(alerts.c.alert_id).where(
                alerts.c.rule_id == rule_id,
                alerts.c.subject_type == "loan",
                alerts.c.subject_id == loan_id,
                alerts.c.status.in_(("open", "acknowledged")),
            )
        )
    ).scalar()
