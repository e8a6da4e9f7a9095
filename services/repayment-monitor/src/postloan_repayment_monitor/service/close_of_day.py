"""Close of day, set-based in SQL: its cost follows the day's changes, not the size of the book.

Closing business date D finalises D and opens N = D + 1:
- `payment-missed` for installments whose grace period ends on D and that are still unsettled;
- `payment-due` for unsettled installments due on N + k for each of the product's offsets k;
- DPD is never rewritten: it is N − the loan's oldest unpaid due date. A loan changes bucket by
  time alone only on the days its DPD reaches a bucket's first day, so only loans whose oldest
  unpaid due date is N − 1, N − 31, N − 61, … are touched (`delinquency-changed`);
- penalty is not rewritten either: it is accrued on each replay and extended by formula;
- `day-closed` goes to every partition of `repayment.loans`.
`payment-missed`, `payment-due` and `delinquency-changed` describe the day being opened and carry
business_date N (a report as of D must still show D's DPD); `day-closed` carries D and follows
them on every partition. Running it again for a day already closed changes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.catalog import REPAYMENT_LOANS
from postloan_common.contracts import DayClosedV1, make_envelope
from postloan_common.messaging.outbox import outbox_row
from postloan_repayment_monitor.domain.delinquency import bucket_sql, days_past_due_sql
from postloan_repayment_monitor.domain.rules import DEFAULT_DUE_OFFSETS, BucketScheme
from postloan_repayment_monitor.service.calendar import business_date
from postloan_repayment_monitor.service.events import SOURCE
from postloan_repayment_monitor.store.tables import business_calendar, closed_days, outbox

# Open penalty of installment i of loan l as of :as_of (mirrors domain.ledger's accrual).
PENALTY_OPEN = """
    greatest(0, round(i.penalty_accrued + (i.principal - i.paid_principal) * l.penalty_rate
        * greatest(0, CAST(:as_of AS date)
                      - greatest(coalesce(i.penalty_as_of, i.grace_ends_on), i.grace_ends_on)) / 365.0, 2)
        - i.paid_penalty)
"""
OPEN_PIF = "(i.principal - i.paid_principal + i.interest - i.paid_interest + i.fee - i.paid_fee)"

_EMIT = """
WITH ev AS MATERIALIZED ({select}),
hist AS (
    INSERT INTO loan_events (loan_id, event_id, event_type, business_date, data)
    SELECT subject, event_id, CAST(:type AS text), CAST(:stamp_date AS date), data FROM ev
),
ins AS (
    INSERT INTO outbox (event_id, topic, key, event_type, payload, headers)
    SELECT event_id, CAST(:topic AS text), subject, CAST(:type AS text),
        convert_to(jsonb_build_object(
            'id', event_id, 'type', CAST(:type AS text), 'version', 1, 'source', CAST(:source AS text),
            'subject', subject, 'time', CAST(:time AS text), 'business_date', CAST(:stamp_date AS date)::text,
            'correlation_id', CAST(:correlation_id AS text), 'causation_id', NULL, 'data', data)::text, 'UTF8'),
        jsonb_build_object('event-type', CAST(:type AS text), 'event-version', '1')
    FROM ev
    RETURNING 1
)
SELECT count(*) FROM ins
"""

_MISSED = f"""
    SELECT gen_random_uuid() AS event_id, l.loan_id AS subject, jsonb_build_object(
        'loan_id', l.loan_id, 'customer_id', l.customer_id, 'installment_seq', i.seq,
        'due_date', i.due_date::text, 'amount_overdue', ({OPEN_PIF})::text, 'currency', l.currency,
        'dpd', {{dpd_next}}, 'bucket', {{bucket_case}}) AS data
    FROM installments i JOIN loans l ON l.loan_id = i.loan_id
    WHERE i.settled_on IS NULL AND i.grace_ends_on = :business_date AND l.status = 'active'
"""

_DUE = f"""
    SELECT gen_random_uuid() AS event_id, l.loan_id AS subject, jsonb_build_object(
        'loan_id', l.loan_id, 'customer_id', l.customer_id, 'installment_seq', i.seq,
        'due_date', i.due_date::text, 'amount_due', ({OPEN_PIF})::text, 'currency', l.currency,
        'days_before_due', i.due_date - CAST(:next AS date), 'payment_reference', l.loan_id || '-' || i.seq) AS data
    FROM installments i
    JOIN loans l ON l.loan_id = i.loan_id
    LEFT JOIN products p ON p.code = l.product
    WHERE i.settled_on IS NULL AND i.due_date = ANY(:due_dates) AND l.status = 'active'
      AND (i.due_date - CAST(:next AS date)) = ANY(coalesce(p.due_offsets, CAST(:default_offsets AS integer[])))
"""


@dataclass(frozen=True)
class CloseResult:
    business_date: date
    next_business_date: date
    already_closed: bool
    stats: dict[str, Any]


async def close_day(
    session: AsyncSession,
    *,
    expected: date | None,
    initial: date,
    buckets: BucketScheme,
    partitions: int,
    correlation_id: str | None = None,
) -> CloseResult:
    """Close the current business date (or confirm that `expected` is already closed)."""
    started = time.perf_counter()
    day = await business_date(session, initial=initial, lock="update")
    if expected is not None and expected != day:
        if expected < day:
            stats = (
                await session.execute(select(closed_days.c.stats).where(closed_days.c.business_date == expected))
            ).scalar_one_or_none()
            return CloseResult(expected, expected + timedelta(days=1), True, stats or {})
        raise ValueError(f"cannot close {expected}: the business date is {day}")
    nxt = day + timedelta(days=1)
    common = {
        "business_date": day,
        # What these events say (DPD, buckets, reminders) is the state of the day being opened.
        "stamp_date": nxt,
        "next": nxt,
        "topic": REPAYMENT_LOANS,
        "source": SOURCE,
        "time": datetime.now(UTC).isoformat(),
        "correlation_id": correlation_id,
    }
    dpd_next = days_past_due_sql("l.oldest_unpaid_due", "CAST(:next AS date)")
    bucket_case = bucket_sql(dpd_next, buckets)

    missed = await _emit(
        session, _MISSED.format(dpd_next=dpd_next, bucket_case=bucket_case), {**common, "type": "payment-missed"}
    )

    offsets = await _all_offsets(session)
    due = await _emit(
        session,
        _DUE,
        {
            **common,
            "type": "payment-due",
            "due_dates": [nxt + timedelta(days=k) for k in offsets],
            "default_offsets": list(DEFAULT_DUE_OFFSETS),
        },
    )
    crossing = [nxt - timedelta(days=t) for t in buckets.thresholds]
    moved = await _emit(
        session,
        f"""
        SELECT gen_random_uuid() AS event_id, m.loan_id AS subject, jsonb_build_object(
            'loan_id', m.loan_id, 'customer_id', m.customer_id, 'from_bucket', m.from_bucket,
            'to_bucket', m.to_bucket, 'dpd', m.dpd, 'currency', m.currency,
            'overdue_amount', (SELECT coalesce(sum({OPEN_PIF} + {PENALTY_OPEN}), 0)::numeric(18,2)::text
                               FROM installments i JOIN loans l ON l.loan_id = i.loan_id
                               WHERE i.loan_id = m.loan_id AND i.due_date < CAST(:next AS date)),
            'outstanding', (SELECT coalesce(sum({OPEN_PIF} + {PENALTY_OPEN}), 0)::numeric(18,2)::text
                            FROM installments i JOIN loans l ON l.loan_id = i.loan_id
                            WHERE i.loan_id = m.loan_id)) AS data
        FROM moved m
        """,
        {**common, "type": "delinquency-changed", "crossing": crossing, "as_of": nxt},
        prefix=f"""
        moved AS (
            UPDATE loans l SET bucket = {bucket_case}, updated_at = now()
            FROM (SELECT loan_id, bucket AS from_bucket FROM loans
                  WHERE status = 'active' AND oldest_unpaid_due = ANY(:crossing)) prev
            WHERE l.loan_id = prev.loan_id AND l.bucket <> {bucket_case}
            RETURNING l.loan_id, l.customer_id, l.currency, prev.from_bucket, l.bucket AS to_bucket,
                      {dpd_next} AS dpd
        ),""",
    )
    stats = {
        "payments_missed": missed,
        "payments_due": due,
        "delinquency_changes": moved,
        "loans_processed": missed + due + moved,
    }
    rows = []
    for partition in range(partitions):
        envelope = make_envelope(
            data=DayClosedV1(business_date=day, partition=partition, partitions=partitions, **stats),
            source=SOURCE,
            subject=f"day-{day.isoformat()}",
            business_date=day,
            correlation_id=correlation_id,
        )
        rows.append(outbox_row(envelope, topic=REPAYMENT_LOANS, partition=partition))
    await session.execute(insert(outbox), rows)
    duration_ms = int((time.perf_counter() - started) * 1000)
    await session.execute(insert(closed_days).values(business_date=day, duration_ms=duration_ms, stats=stats))
    await session.execute(
        update(business_calendar).where(business_calendar.c.id == 1).values(business_date=nxt, updated_at=text("now()"))
    )
    return CloseResult(day, nxt, False, {**stats, "duration_ms": duration_ms})


async def _emit(session: AsyncSession, select_sql: str, params: dict[str, Any], prefix: str = "") -> int:
    statement = _EMIT.format(select=select_sql)
    if prefix:
        statement = statement.replace("WITH ev AS MATERIALIZED", f"WITH {prefix}\nev AS MATERIALIZED", 1)
    return int((await session.execute(text(statement), params)).scalar_one())


async def _all_offsets(session: AsyncSession) -> list[int]:
    rows = (await session.execute(text("SELECT DISTINCT unnest(due_offsets) FROM products"))).scalars().all()
    return sorted({*DEFAULT_DUE_OFFSETS, *rows})
