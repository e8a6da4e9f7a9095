"""External-signal SQL: the signal rows, customers' industries, and what close of day reads of them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_risk_alert.domain.signals import LOOKBACK_DAYS
from postloan_risk_alert.store.tables import customer_industries, external_signals

# A loan is re-scored while its borrower or the borrower's industry has a signal that still counts,
# and once more the day after the last one stops counting (so its alerts can resolve).
IN_FORCE_SQL = f"""
        OR EXISTS (SELECT 1 FROM external_signals x WHERE x.customer_id = f.customer_id
            AND x.observed_on > $1::date - {LOOKBACK_DAYS + 1})
        OR EXISTS (SELECT 1 FROM customer_industries ci JOIN external_signals x ON x.subject = 'industry'
            AND x.subject_id = ci.industry WHERE ci.customer_id = f.customer_id
            AND x.observed_on > $1::date - {LOOKBACK_DAYS + 1})
"""

_LOAN_CUSTOMERS = text("SELECT loan_id, customer_id FROM loan_features WHERE loan_id = ANY(CAST(:ids AS text[]))")
_HASHES = text("SELECT signal_id, content_hash FROM external_signals WHERE signal_id = ANY(CAST(:ids AS text[]))")

# The signals that count for each customer as of a day: its own (customer and loan subjects) and its
# industry's, the latter under the customer's id with subject 'industry'.
_FEATURE_ROWS = text("""
SELECT x.customer_id, x.subject, x.signal_id, x.kind, x.observed_on, x.value,
       x.details->>'case_id' AS case_id, x.details->>'status' AS status
FROM external_signals x
WHERE x.customer_id = ANY(CAST(:ids AS text[])) AND x.observed_on > :since AND x.observed_on <= :as_of
UNION ALL
SELECT ci.customer_id, x.subject, x.signal_id, x.kind, x.observed_on, x.value, NULL, NULL
FROM customer_industries ci
JOIN external_signals x ON x.subject = 'industry' AND x.subject_id = ci.industry
WHERE ci.customer_id = ANY(CAST(:ids AS text[])) AND x.observed_on > :since AND x.observed_on <= :as_of
""")


async def loan_customers(session: AsyncSession, loan_ids: Iterable[str]) -> dict[str, str]:
    """The borrower of each known loan among `loan_ids`."""
    return dict((await session.execute(_LOAN_CUSTOMERS, {"ids": sorted(set(loan_ids))})).tuples().all())


async def signal_hashes(session: AsyncSession, signal_ids: Iterable[str]) -> dict[str, str]:
    """The content hash of each stored signal among `signal_ids`."""
    return dict((await session.execute(_HASHES, {"ids": sorted(set(signal_ids))})).tuples().all())


async def insert_signals(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert the signal rows not stored yet; return the ids inserted."""
    if not rows:
        return set()
    statement = pg_insert(external_signals).on_conflict_do_nothing().returning(external_signals.c.signal_id)
    return set((await session.execute(statement, list(rows))).scalars())


async def upsert_industries(session: AsyncSession, rows: Sequence[dict[str, str | None]]) -> None:
    """Record each customer's industry (None clears it)."""
    if not rows:
        return
    statement = pg_insert(customer_industries)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[customer_industries.c.customer_id],
            set_={"industry": statement.excluded.industry},
            where=customer_industries.c.industry.is_distinct_from(statement.excluded.industry),
        ),
        list(rows),
    )


async def feature_rows(session: AsyncSession, *, customer_ids: Iterable[str], as_of: date) -> list[Any]:
    """The signals counting for `customer_ids` as of `as_of` (see _FEATURE_ROWS)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return []
    params = {"ids": ids, "since": as_of - timedelta(days=LOOKBACK_DAYS), "as_of": as_of}
    return list(await session.execute(_FEATURE_ROWS, params))


async def industry_of(session: AsyncSession, customer_id: str) -> tuple[bool, str | None]:
    """Whether the customer's industry is recorded, and the industry."""
    row = (
        await session.execute(
            select(customer_industries.c.industry).where(customer_industries.c.customer_id == customer_id)
        )
    ).first()
    return (row is not None, row.industry if row is not None else None)


async def signals_of_customer(
    session: AsyncSession, *, customer_id: str, industry: str | None, limit: int
) -> list[dict[str, Any]]:
    """The customer's signals and its industry's, newest first."""
    about = external_signals.c.customer_id == customer_id
    if industry is not None:
        about = about | ((external_signals.c.subject == "industry") & (external_signals.c.subject_id == industry))
    query = (
        select(external_signals)
        .where(about)
        .order_by(external_signals.c.observed_on.desc(), external_signals.c.signal_id)
        .limit(limit)
    )
    return [dict(r._mapping) for r in await session.execute(query)]


async def has_loans(session: AsyncSession, customer_id: str) -> bool:
    """Whether risk-alert has seen a loan of the customer."""
    found = await session.execute(
        text("SELECT 1 FROM loan_features WHERE customer_id = :c LIMIT 1"), {"c": customer_id}
    )
    return found.first() is not None
