"""Close a business date once every partition of repayment.loans has sent its day-closed."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import DayClosedV1
from postloan_common.logging import get_logger
from postloan_risk_alert.service.close_of_day import RunStats, rescore
from postloan_risk_alert.service.fund_use import evaluate_untraced
from postloan_risk_alert.settings import Settings
from postloan_risk_alert.store import loan_store

log = get_logger(__name__)


async def close_partition(
    session: AsyncSession,
    *,
    day: DayClosedV1,
    settings: Settings,
    correlation_id: str | None,
) -> RunStats | None:
    """Record a partition's day-closed; run the close of day when it was the last one (once per date)."""
    business_date, partitions = day.business_date, day.partitions
    # Serialise the partitions of one business date, so exactly one transaction sees them all.
    await loan_store.lock_business_date(session, business_date)
    seen = await loan_store.record_closed_partition(
        session, business_date=business_date, partition=day.partition, partitions=partitions
    )
    if seen < partitions or await loan_store.day_scored(session, business_date):
        return None
    stats = await rescore(session, business_date=business_date, settings=settings, correlation_id=correlation_id)
    # Untraced proceeds need no new flow to be found: the loans whose trace window just ended.
    await evaluate_untraced(session, business_date=business_date, correlation_id=correlation_id)
    await loan_store.record_scoring_run(
        session, business_date=business_date, duration_ms=int(stats.seconds * 1000), stats=stats.as_dict()
    )
    log.info("close of day scored", **{k: v for k, v in stats.as_dict().items() if k != "phases"})
    return stats
