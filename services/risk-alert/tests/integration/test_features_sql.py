"""The SQL twins of the derived features agree with the Python functions on real PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import text

from postloan_common.db import create_engine
from postloan_risk_alert.domain import classification as cls
from postloan_risk_alert.domain import features

pytestmark = pytest.mark.integration

AS_OF = date(2026, 5, 14)


async def _scalar(url: str, sql: str, **params: object) -> object:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar()
    finally:
        await engine.dispose()


async def test_days_past_due_sql_matches_python(migrated_database) -> None:
    url = await migrated_database("postloan_risk_alert")
    sql = features.days_past_due_sql(overdue_since="CAST(:since AS date)", business_date="CAST(:as_of AS date)")
    for offset in (-3, 0, 1, 45):
        since = AS_OF - timedelta(days=offset)
        expected = int(features.days_past_due(overdue_days=np.array([offset]))[0])
        assert await _scalar(url, f"SELECT {sql}", since=since, as_of=AS_OF) == expected
    assert await _scalar(url, f"SELECT {sql}", since=None, as_of=AS_OF) == 0


async def test_paid_due_ratio_sql_matches_python(migrated_database) -> None:
    url = await migrated_database("postloan_risk_alert")
    sql = features.paid_due_ratio_sql(amount_paid="CAST(:paid AS numeric)", amount_due="CAST(:due AS numeric)")
    for paid, due in ((50, 100), (900, 100), (10, 0), (0, 30)):
        expected = features.paid_due_ratio(amount_paid=np.array([float(paid)]), amount_due=np.array([float(due)]))[0]
        got = await _scalar(url, f"SELECT {sql}", paid=paid, due=due)
        if np.isnan(expected):
            assert got is None
        else:
            assert float(got) == pytest.approx(expected)  # type: ignore[arg-type]


async def test_npl_sql_selects_exactly_the_npl_categories(migrated_database) -> None:
    url = await migrated_database("postloan_risk_alert")
    for name in cls.CATEGORIES:
        got = await _scalar(url, f"SELECT {cls.npl_sql('CAST(:c AS text)')}", c=name)
        assert got is (name in cls.NPL_CATEGORIES)
