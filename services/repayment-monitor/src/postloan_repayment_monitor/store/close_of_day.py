"""Close-of-day SQL: the set-based statements that emit the day's events and close the business date."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.messaging.encoding import event_id_sql, named_param, outbox_insert_sql, sql_params
from postloan_repayment_monitor.store.tables import business_calendar, closed_days, outbox

# Open penalty of installment i of loan l as of :as_of (mirrors domain.ledger's accrual).
PENALTY_OPEN = """
    greatest(0, round(i.penalty_accrued + (i.principal - i.paid_principal) * l.penalty_rate
        * greatest(0, CAST(:as_of AS date)
                      - greatest(coalesce(i.penalty_as_of, i.grace_ends_on), i.grace_ends_on)) / 365.0, 2)
        - i.paid_penalty)
"""
OPEN_PIF = "(i.principal - i.paid_principal + i.interest - i.paid_interest + i.fee - i.paid_fee)"

# {select} gives the events' ids (encoding.event_id_sql), subjects and data; each event is one loan
# history row and one outbox row, the latter written by the shared encoder ({outbox}).
_EMIT = """
WITH ev AS MATERIALIZED ({select}),
hist AS (
    INSERT INTO loan_events (loan_id, event_id, event_type, business_date, data)
    SELECT subject, event_id, CAST(:type AS text), CAST(:stamp_date AS date), data FROM ev
),
ins AS (
{outbox}
    RETURNING 1
)
SELECT count(*) FROM ins
"""
_EVENT_ID = event_id_sql(named_param)

_MISSED = f"""
    SELECT {_EVENT_ID} AS event_id, l.loan_id AS subject, jsonb_build_object(
        'loan_id', l.loan_id, 'customer_id', l.customer_id, 'installment_seq', i.seq,
        'due_date', i.due_date::text, 'amount_overdue', ({OPEN_PIF})::text, 'currency', l.currency,
        'dpd', {{dpd_next}}, 'bucket', {{bucket_case}}) AS data
    FROM installments i JOIN loans l ON l.loan_id = i.loan_id
    WHERE i.settled_on IS NULL AND i.grace_ends_on = :business_date AND l.status = 'active'
"""

_DUE = f"""
    SELECT {_EVENT_ID} AS event_id, l.loan_id AS subject, jsonb_build_object(
        'loan_id', l.loan_id, 'customer_id', l.customer_id, 'installment_seq', i.seq,
        'due_date', i.due_date::text, 'amount_due', ({OPEN_PIF})::text, 'currency', l.currency,
        'days_before_due', i.due_date - CAST(:next AS date), 'payment_reference', l.loan_id || '-' || i.seq) AS data
    FROM installments i
    JOIN loans l ON l.loan_id = i.loan_id
    LEFT JOIN products p ON p.code = l.product
    WHERE i.settled_on IS NULL AND i.due_date = ANY(:due_dates) AND l.status = 'active'
      AND (i.due_date - CAST(:next AS date)) = ANY(coalesce(p.due_offsets, CAST(:default_offsets AS integer[])))
"""


# Loans whose DPD reaches a bucket's first day: {bucket_case} and {dpd_next} from domain.delinquency.
_MOVED_PREFIX = """
        moved AS (
            UPDATE loans l SET bucket = {bucket_case}, updated_at = now()
            FROM (SELECT loan_id, bucket AS from_bucket FROM loans
                  WHERE status = 'active' AND oldest_unpaid_due = ANY(:crossing)) prev
            WHERE l.loan_id = prev.loan_id AND l.bucket <> {bucket_case}
            RETURNING l.loan_id, l.customer_id, l.currency, prev.from_bucket, l.bucket AS to_bucket,
                      {dpd_next} AS dpd
        ),"""
_MOVED = f"""
        SELECT {_EVENT_ID} AS event_id, m.loan_id AS subject, jsonb_build_object(
            'loan_id', m.loan_id, 'customer_id', m.customer_id, 'from_bucket', m.from_bucket,
            'to_bucket', m.to_bucket, 'dpd', m.dpd, 'currency', m.currency,
            'overdue_amount', (SELECT coalesce(sum({OPEN_PIF} + {PENALTY_OPEN}), 0)::numeric(18,2)::text
                               FROM installments i JOIN loans l ON l.loan_id = i.loan_id
                               WHERE i.loan_id = m.loan_id AND i.due_date < CAST(:next AS date)),
            'outstanding', (SELECT coalesce(sum({OPEN_PIF} + {PENALTY_OPEN}), 0)::numeric(18,2)::text
                            FROM installments i JOIN loans l ON l.loan_id = i.loan_id
                            WHERE i.loan_id = m.loan_id)) AS data
        FROM moved m
        """


async def _emit(session: AsyncSession, select_sql: str, params: dict[str, Any], prefix: str = "") -> int:
    """Run one emitting statement; params carry the event's type, topic, source, stamp date and correlation."""
    outbox = outbox_insert_sql(
        rows="ev", topic=params["topic"], type=params["type"], source=params["source"], id_column="event_id"
    )
    envelope = sql_params(
        type=params["type"], business_date=params["stamp_date"], correlation_id=params["correlation_id"]
    )
    params = {**params, **envelope}
    statement = _EMIT.format(select=select_sql, outbox=outbox)
    if prefix:
        statement = statement.replace("WITH ev AS MATERIALIZED", f"WITH {prefix}\nev AS MATERIALIZED", 1)
    return int((await session.execute(text(statement), params)).scalar_one())


async def emit_missed(session: AsyncSession, params: dict[str, Any], dpd_next: str, bucket_case: str) -> int:
    """One payment-missed event per unsettled installment whose grace period ends on the day; how many."""
    return await _emit(session, _MISSED.format(dpd_next=dpd_next, bucket_case=bucket_case), params)


async def emit_due(session: AsyncSession, params: dict[str, Any]) -> int:
    """One payment-due event per unsettled installment due at one of its product's offsets; how many."""
    return await _emit(session, _DUE, params)


async def emit_bucket_moves(session: AsyncSession, params: dict[str, Any], dpd_next: str, bucket_case: str) -> int:
    """Move loans whose DPD crosses into another bucket and emit delinquency-changed for each; how many."""
    prefix = _MOVED_PREFIX.format(bucket_case=bucket_case, dpd_next=dpd_next)
    return await _emit(session, _MOVED, params, prefix=prefix)


async def due_offsets(session: AsyncSession) -> list[int]:
    """Every due offset some product configures."""
    return list((await session.execute(text("SELECT DISTINCT unnest(due_offsets) FROM products"))).scalars().all())


async def closed_stats(session: AsyncSession, *, day: date) -> dict[str, Any] | None:
    """The stats of a closed business date, or None."""
    query = select(closed_days.c.stats).where(closed_days.c.business_date == day)
    stats: dict[str, Any] | None = (await session.execute(query)).scalar_one_or_none()
    return stats


async def insert_outbox(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert outbox rows (outbox_row dicts)."""
    await session.execute(insert(outbox), rows)


async def record_closed(
    session: AsyncSession, *, day: date, next_day: date, duration_ms: int, stats: dict[str, Any]
) -> None:
    """Record `day` as closed and make `next_day` the business date."""
    await session.execute(insert(closed_days).values(business_date=day, duration_ms=duration_ms, stats=stats))
    await session.execute(
        update(business_calendar)
        .where(business_calendar.c.id == 1)
        .values(business_date=next_day, updated_at=text("now()"))
    )
