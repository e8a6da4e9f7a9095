"""Daily snapshots in SQL: day closes, the per-day aggregates and their freshness."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.db import driver_connection
from postloan_reporting.domain.kpis import PAR30_FROM_BUCKET, PAR90_FROM_BUCKET, AggRow
from postloan_reporting.store.queries import aggregate_sql, as_params
from postloan_reporting.store.tables import day_closes, snapshots

# A build holds this advisory lock exclusively and every change to the intervals holds it shared, so a
# build reads either none or all of a concurrent change. Without it a build read the intervals before a
# change committed, and its final upsert then overwrote the stale mark that change had set: a fresh
# snapshot of old figures (found by the fault test). Builds of one day are serialised by it too.
_BUILD_LOCK = (0x52505444, 0)  # "RPTD"


def mark_stale_sql(since: str) -> str:
    """The statement marking the snapshots of the date `since` (an SQL expression) and later stale."""
    return f"UPDATE {snapshots.name} SET stale = true WHERE business_date >= {since} AND NOT stale"


async def hold_off_builds(session: AsyncSession) -> None:
    """Keep snapshot builds waiting until this transaction, which changes the intervals, ends."""
    connection = await driver_connection(session)
    await connection.execute("SELECT pg_advisory_xact_lock_shared($1, $2)", *_BUILD_LOCK)


async def mark_stale(session: AsyncSession, *, since: date) -> None:
    """Mark the snapshots of `since` and later as needing a rebuild."""
    await hold_off_builds(session)
    connection = await driver_connection(session)
    await connection.execute(mark_stale_sql("$1::date"), since)


async def note_day_close(session: AsyncSession, *, business_date: date, partition: int, partitions: int) -> bool:
    """Note one partition's `day-closed`; True when every partition of the day has closed it."""
    await session.execute(
        pg_insert(day_closes)
        .values(business_date=business_date, partition=partition, partitions=partitions)
        .on_conflict_do_nothing()
    )
    seen = (
        await session.execute(
            select(func.count(), func.max(day_closes.c.partitions)).where(day_closes.c.business_date == business_date)
        )
    ).one()
    return bool(seen[0] >= seen[1])


async def build(session: AsyncSession, *, business_date: date) -> None:
    """(Re)build the aggregates of one business date from the state intervals."""
    # The consumer (on day-closed) and the worker's refresher may also rebuild the same day at once;
    # without the lock the later INSERT meets the rows the earlier one committed.
    connection = await driver_connection(session)
    await connection.execute("SELECT pg_advisory_xact_lock($1, $2)", *_BUILD_LOCK)
    await session.execute(text("DELETE FROM rpt_daily WHERE business_date = :day"), {"day": business_date})
    await session.execute(
        text(
            "INSERT INTO rpt_daily (business_date, product, branch, vintage, bucket, class_rank, loans, principal,"
            f" outstanding_total, overdue) SELECT CAST(:day AS date), * FROM ({aggregate_sql()}) AS agg"
        ),
        {"day": business_date},
    )
    await session.execute(
        pg_insert(snapshots)
        .values(business_date=business_date, stale=False)
        .on_conflict_do_update(
            index_elements=[snapshots.c.business_date], set_={"stale": False, "built_at": func.now()}
        )
    )


async def stale_days(session: AsyncSession, *, limit: int) -> list[date]:
    """Up to `limit` business dates whose snapshot is stale, oldest first."""
    rows = await session.execute(
        select(snapshots.c.business_date)
        .where(snapshots.c.stale.is_(True))
        .order_by(snapshots.c.business_date)
        .limit(limit)
    )
    return list(rows.scalars())


async def latest_closed_day(session: AsyncSession) -> date | None:
    """The latest business date with a snapshot."""
    return (await session.execute(select(func.max(snapshots.c.business_date)))).scalar()


async def fresh_days(session: AsyncSession, days: list[date]) -> set[date]:
    """Those of `days` with an up-to-date snapshot."""
    rows = await session.execute(
        select(snapshots.c.business_date).where(snapshots.c.business_date.in_(days), snapshots.c.stale.is_(False))
    )
    return set(rows.scalars())


async def _source_sql(session: AsyncSession, day: date, params: dict[str, object]) -> str:
    if await fresh_days(session, [day]):
        where = "business_date = :day" + "".join(f" AND {k} = :{k}" for k in ("product", "branch") if k in params)
        return (
            "SELECT product, branch, vintage, bucket, class_rank, loans, principal, outstanding_total, overdue"
            f" FROM rpt_daily WHERE {where}"
        )
    return aggregate_sql(product=params.get("product"), branch=params.get("branch"))  # type: ignore[arg-type]


async def vintage_balances(
    session: AsyncSession, *, day: date, product: str | None = None, branch: str | None = None
) -> dict[date, tuple[Decimal, Decimal]]:
    """Per vintage, the principal past 30 and past 90 DPD at the end of `day`."""
    params = as_params(day, product, branch)
    sql = (
        f"SELECT vintage, coalesce(sum(principal) FILTER (WHERE bucket >= {PAR30_FROM_BUCKET}), 0) AS b30,"
        f" coalesce(sum(principal) FILTER (WHERE bucket >= {PAR90_FROM_BUCKET}), 0) AS b90"
        f" FROM ({await _source_sql(session, day, params)}) AS rows GROUP BY vintage"
    )
    return {r.vintage: (r.b30, r.b90) for r in await session.execute(text(sql), params)}


async def aggregate_rows(
    session: AsyncSession,
    *,
    day: date,
    product: str | None = None,
    branch: str | None = None,
    by_vintage: bool = False,
) -> list[AggRow]:
    """The aggregates of `day`: from its snapshot when fresh, else computed from the intervals.

    Without `by_vintage` the rows are summed over vintages (their `vintage` is None): a twelfth of them.
    The sum of counts is cast back to an integer: PostgreSQL's sum of bigints is numeric.
    """
    params = as_params(day, product, branch)
    sql = await _source_sql(session, day, params)
    if not by_vintage:
        sql = (
            "SELECT product, branch, NULL AS vintage, bucket, class_rank, sum(loans)::bigint AS loans,"
            " sum(principal) AS principal, sum(outstanding_total) AS outstanding_total, sum(overdue) AS overdue"
            f" FROM ({sql}) AS rows GROUP BY product, branch, bucket, class_rank"
        )
    rows = await session.execute(text(sql), params)
    return [
        AggRow(
            r.product, r.branch, r.vintage, r.bucket, r.class_rank, r.loans, r.principal, r.outstanding_total, r.overdue
        )
        for r in rows
    ]


async def open_alerts(session: AsyncSession) -> int:
    """Risk alerts open now."""
    return (await session.execute(text("SELECT count(*) FROM rpt_alert WHERE resolved_on IS NULL"))).scalar() or 0


async def reminders_sent(session: AsyncSession) -> int:
    """Reminders sent, all time."""
    return (await session.execute(text("SELECT count(*) FROM rpt_reminder"))).scalar() or 0
