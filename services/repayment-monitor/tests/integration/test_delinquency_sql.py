"""The SQL of DPD and buckets (close of day, bulk intake) agrees with the Python rule, on PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import asyncpg
import pytest

from postloan_repayment_monitor.domain.delinquency import bucket_on, bucket_on_sql, days_past_due, days_past_due_sql
from postloan_repayment_monitor.domain.rules import Bucket, BucketScheme

pytestmark = pytest.mark.integration

AS_OF = date(2026, 7, 1)
# Every bucket edge of the default scheme, either side of it, and no unpaid installment at all.
OFFSETS = sorted({o + d for o in (0, 1, 30, 31, 60, 61, 90, 91, 120, 121, 150, 151, 180, 181, 400) for d in (-1, 0, 1)})
CASES: list[date | None] = [None, *(AS_OF - timedelta(days=o) for o in OFFSETS)]
SCHEMES = (
    BucketScheme(),
    BucketScheme((Bucket("current", 0, 0), Bucket("late", 1, 89), Bucket("default", 90, None))),
)


@pytest.mark.parametrize("scheme", SCHEMES, ids=["default", "three-buckets"])
async def test_sql_dpd_and_bucket_match_the_python_rule(database_url: str, scheme: BucketScheme) -> None:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch(
            f"SELECT t.oldest, {days_past_due_sql('t.oldest', '$2::date')} AS dpd, "
            f"{bucket_on_sql('t.oldest', '$2::date', scheme)} AS bucket "
            "FROM unnest($1::date[]) WITH ORDINALITY AS t(oldest, n) ORDER BY t.n",
            CASES,
            AS_OF,
        )
    finally:
        await conn.close()
    assert [r["oldest"] for r in rows] == CASES
    assert [r["dpd"] for r in rows] == [days_past_due(c, AS_OF) for c in CASES]
    assert [r["bucket"] for r in rows] == [bucket_on(c, AS_OF, scheme) for c in CASES]
