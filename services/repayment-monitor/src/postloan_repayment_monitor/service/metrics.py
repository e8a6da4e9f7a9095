"""Business metrics of repayment-monitor: portfolio gauges by bucket, posting and close-of-day counters."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from postloan_common.logging import get_logger
from postloan_repayment_monitor.domain.posting import Rejection
from postloan_repayment_monitor.domain.refusal import Refusal
from postloan_repayment_monitor.domain.rules import BucketScheme
from postloan_repayment_monitor.service.close_of_day import CloseResult
from postloan_repayment_monitor.service.repayments import Posted
from postloan_repayment_monitor.store import loans as store

log = get_logger(__name__)

# Module-level singletons: the default registry refuses a second metric of the same name.
LOANS = Gauge("repayment_loans", "Active loans by delinquency bucket", ["bucket"])
BALANCE = Gauge("repayment_balance", "Outstanding principal of active loans by delinquency bucket", ["bucket"])
REPAYMENTS = Counter(
    "repayment_repayments", "Repayments by outcome (posted, duplicate, reversed), REST and events", ["outcome"]
)
REJECTIONS = Counter("repayment_rejections", "Refused repayments and reversals by reason", ["reason"])
CLOSE_SECONDS = Histogram(
    "repayment_close_of_day_seconds",
    "Time to close one business day, commit included",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
CLOSE_EVENTS = Counter("repayment_close_of_day_events", "Events emitted by close of day by type", ["type"])

# close_day's stats keys → event type labels.
_CLOSE_STATS = {
    "payments_due": "payment_due",
    "payments_missed": "payment_missed",
    "delinquency_changes": "delinquency_changed",
}
for _outcome in ("posted", "duplicate", "reversed"):
    REPAYMENTS.labels(_outcome)
for _reason in Rejection:
    REJECTIONS.labels(_reason.value)
for _type in _CLOSE_STATS.values():
    CLOSE_EVENTS.labels(_type)

_PENDING = "postloan_repayment_monitor.metrics.pending"


def count_postings(results: Iterable[Posted | Refusal], *, reversal: bool = False) -> None:
    """Count postings (or a reversal) by outcome and rejections by reason."""
    for result in results:
        if isinstance(result, Refusal):
            REJECTIONS.labels(str(result.code)).inc()
        elif result.duplicate:
            if not reversal:
                REPAYMENTS.labels("duplicate").inc()
        else:
            REPAYMENTS.labels("reversed" if reversal else "posted").inc()


def count_close(result: CloseResult, *, seconds: float) -> None:
    """Record one close of day (a day found already closed is not counted)."""
    if result.already_closed:
        return
    CLOSE_SECONDS.observe(seconds)
    for key, label in _CLOSE_STATS.items():
        CLOSE_EVENTS.labels(label).inc(int(result.stats.get(key, 0)))


def on_commit(session: AsyncSession, action: Callable[[], None]) -> None:
    """Run `action` when the session's outermost transaction commits; never if it rolls back.

    A consumer batch that fails is rolled back and applied again event by event, so counting
    before the commit would count the same events twice.
    """
    sync = session.sync_session
    pending: list[Callable[[], None]] | None = sync.info.get(_PENDING)
    if pending is None:
        pending = sync.info[_PENDING] = []
        event.listen(sync, "after_commit", _run_pending)
    pending.append(action)


def _run_pending(sync: Session) -> None:
    if sync.in_nested_transaction():
        return  # a savepoint: the outer transaction may still roll back
    pending: list[Callable[[], None]] = sync.info.get(_PENDING, [])
    actions, pending[:] = list(pending), []
    for action in actions:
        action()


async def refresh_portfolio(session: AsyncSession, *, buckets: BucketScheme) -> dict[str, tuple[int, Decimal]]:
    """Set the bucket gauges from one GROUP BY over active loans; return {bucket: (loans, balance)}."""
    rows = await store.active_by_bucket(session)
    figures = dict.fromkeys(buckets.names, (0, Decimal(0)))
    figures.update({row[0]: (int(row[1]), Decimal(row[2])) for row in rows})
    for bucket, (count, balance) in figures.items():
        LOANS.labels(bucket).set(count)
        BALANCE.labels(bucket).set(float(balance))
    return figures


def portfolio_refresher(
    *, buckets: BucketScheme, interval_s: float = 30.0
) -> Callable[[async_sessionmaker[AsyncSession], asyncio.Event], Awaitable[None]]:
    """A worker task that refreshes the bucket gauges every `interval_s` seconds until stopped."""

    async def refresh_metrics(sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with sessions() as session:
                    await refresh_portfolio(session, buckets=buckets)
            except Exception as exc:  # a missed refresh only leaves the gauges stale
                log.warning("portfolio metrics refresh failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)

    return refresh_metrics
