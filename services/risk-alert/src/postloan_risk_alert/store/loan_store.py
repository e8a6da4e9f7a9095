"""The feature projection rows the consumers fold events into, and the close-of-day bookkeeping tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_risk_alert.store.tables import classifications, day_closures, loan_features, scoring_runs

_KEY = "k_loan_id"
_MUTABLE = [c.name for c in loan_features.columns if c.name not in ("loan_id", "updated_at")]
# The advisory lock class of a business date's close of day (the key is the date's ordinal).
_DAY_LOCK = 7201


async def insert_new_loans(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert projection rows of newly registered loans; a redelivered registration changes nothing."""
    await session.execute(pg_insert(loan_features).on_conflict_do_nothing(), list(rows))


async def load_for_update(session: AsyncSession, loan_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The projection rows of `loan_ids`, locked for this transaction, by loan id."""
    rows = await session.execute(
        select(loan_features).where(loan_features.c.loan_id.in_(sorted(loan_ids))).with_for_update()
    )
    return {r.loan_id: dict(r._mapping) for r in rows}


async def save(session: AsyncSession, states: dict[str, dict[str, Any]], changed: Iterable[str]) -> None:
    """Write back the projection rows of the `changed` loans in one executemany."""
    changed = sorted(changed)
    if not changed:
        return
    statement = (
        update(loan_features)
        .where(loan_features.c.loan_id == bindparam(_KEY))
        .values({**{name: bindparam(name) for name in _MUTABLE}, "updated_at": func.now()})
    )
    await session.execute(
        statement, [{_KEY: loan_id, **{n: states[loan_id][n] for n in _MUTABLE}} for loan_id in changed]
    )


async def current_categories(session: AsyncSession, loan_ids: Iterable[str]) -> dict[str, str]:
    """The stored classification of each of `loan_ids` that has one."""
    rows = await session.execute(
        select(classifications.c.loan_id, classifications.c.category).where(
            classifications.c.loan_id.in_(sorted(loan_ids))
        )
    )
    return {loan_id: category for loan_id, category in rows.all()}


async def lock_business_date(session: AsyncSession, business_date: date) -> None:
    """Serialise the transactions closing partitions of one business date."""
    await session.execute(text(f"SELECT pg_advisory_xact_lock({_DAY_LOCK}, :day)"), {"day": business_date.toordinal()})


async def record_closed_partition(
    session: AsyncSession, *, business_date: date, partition: int, partitions: int
) -> int:
    """Record a partition's day-closed; return how many partitions of that date have closed."""
    await session.execute(
        pg_insert(day_closures)
        .values(business_date=business_date, partition=partition, partitions=partitions)
        .on_conflict_do_nothing()
    )
    seen = await session.execute(
        select(func.count()).select_from(day_closures).where(day_closures.c.business_date == business_date)
    )
    return int(seen.scalar_one())


async def day_scored(session: AsyncSession, business_date: date) -> bool:
    """Whether the close-of-day run of `business_date` has happened."""
    found = await session.execute(
        select(scoring_runs.c.business_date).where(scoring_runs.c.business_date == business_date)
    )
    return found.first() is not None


async def record_scoring_run(
    session: AsyncSession, *, business_date: date, duration_ms: int, stats: dict[str, Any]
) -> None:
    """Record that the close of day of `business_date` ran."""
    await session.execute(
        insert(scoring_runs).values(business_date=business_date, duration_ms=duration_ms, stats=stats)
    )
