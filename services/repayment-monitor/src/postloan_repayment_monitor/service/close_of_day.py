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
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.catalog import REPAYMENT_LOANS
from postloan_common.contracts import DayClosedV1, make_envelope
from postloan_common.messaging.outbox import outbox_row
from postloan_repayment_monitor.domain.delinquency import bucket_sql, days_past_due_sql
from postloan_repayment_monitor.domain.rules import DEFAULT_DUE_OFFSETS, BucketScheme
from postloan_repayment_monitor.service import audit
from postloan_repayment_monitor.service.calendar import business_date
from postloan_repayment_monitor.service.events import SOURCE
from postloan_repayment_monitor.settings import Settings
from postloan_repayment_monitor.store import close_of_day as store


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
            stats = await store.closed_stats(session, day=expected)
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
        "correlation_id": correlation_id,
    }
    dpd_next = days_past_due_sql("l.oldest_unpaid_due", "CAST(:next AS date)")
    bucket_case = bucket_sql(dpd_next, buckets)

    missed = await store.emit_missed(session, {**common, "type": "payment-missed"}, dpd_next, bucket_case)

    offsets = sorted({*DEFAULT_DUE_OFFSETS, *await store.due_offsets(session)})
    due = await store.emit_due(
        session,
        {
            **common,
            "type": "payment-due",
            "due_dates": [nxt + timedelta(days=k) for k in offsets],
            "default_offsets": list(DEFAULT_DUE_OFFSETS),
        },
    )
    crossing = [nxt - timedelta(days=t) for t in buckets.thresholds]
    moved = await store.emit_bucket_moves(
        session, {**common, "type": "delinquency-changed", "crossing": crossing, "as_of": nxt}, dpd_next, bucket_case
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
    await store.insert_outbox(session, rows)
    duration_ms = int((time.perf_counter() - started) * 1000)
    await store.record_closed(session, day=day, next_day=nxt, duration_ms=duration_ms, stats=stats)
    return CloseResult(day, nxt, False, {**stats, "duration_ms": duration_ms})


async def close_audited(
    session: AsyncSession,
    *,
    settings: Settings,
    buckets: BucketScheme,
    expected: date | None,
    correlation_id: str,
    actor: str,
) -> CloseResult:
    """`close_day` in the caller's transaction, audited by `actor` unless the day was already closed."""
    result = await close_day(
        session,
        expected=expected,
        initial=settings.first_business_date(),
        buckets=buckets,
        partitions=settings.kafka_topic_partitions,
        correlation_id=correlation_id,
    )
    if not result.already_closed:
        await audit.record(
            session,
            actor=actor,
            action="calendar.close-day",
            subject=result.business_date.isoformat(),
            details=result.stats,
            correlation_id=correlation_id,
        )
    return result
