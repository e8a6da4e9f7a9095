"""Reporting bench seeding: a generated book's loans, state intervals and daily aggregates, copied in (COPY).

The columns are the service's own (postloan_reporting.store), so a column the service adds is not
silently left out here.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import asyncpg

from postloan_reporting.domain.intervals import FOREVER
from postloan_reporting.domain.model import add_months
from postloan_reporting.store.facts import REGISTRATION_COLUMNS
from postloan_reporting.store.intervals import INTERVAL_COLUMNS

AS_OF = date(2025, 12, 31)
START = date(2025, 1, 1)
PRODUCTS = ("consumer-12m", "consumer-24m", "sme-36m", "card-instalment")
BRANCHES = tuple(f"BR{i:02d}" for i in range(10))
CHUNK = 50_000


def _loan_rows(n: int, rng: random.Random) -> list[tuple]:
    rows = []
    for key in range(1, n + 1):
        vintage = add_months(START, -rng.randrange(0, 12))  # disbursed in the 12 months before START
        disbursed = vintage + timedelta(days=rng.randrange(0, 28))
        principal = Decimal(rng.randrange(100_000, 5_000_000)) / 100
        rows.append(
            (
                key,
                f"L{key}",
                f"C{key}",
                rng.choice(PRODUCTS),
                rng.choice(BRANCHES),
                "CNY",
                principal,
                disbursed,
                vintage,
                True,
            )
        )
    return rows


def _intervals(loan: tuple, rng: random.Random) -> list[tuple]:
    key, _, _, product, branch, _, principal, disbursed, vintage, _ = loan
    cuts = sorted({disbursed + timedelta(days=rng.randrange(1, 700)) for _ in range(rng.randrange(2, 9))})
    bounds = [disbursed, *[c for c in cuts if c > disbursed], FOREVER]
    rows, balance, rank = [], principal, 0
    for start, end in pairwise(bounds):
        anchor = start - timedelta(days=rng.randrange(0, 200)) if rng.random() < 0.12 else None
        rank = max(rank, 2 if anchor and (start - anchor).days > 90 else 0)
        overdue = (balance / 10).quantize(Decimal("0.01")) if anchor else Decimal(0)
        rows.append((key, start, end, anchor, balance, balance, overdue, rank, product, branch, vintage))
        balance = (balance * Decimal("0.88")).quantize(Decimal("0.01"))
    return rows


async def fill_days(dsn: str, ends: list[date]) -> None:
    """The other days' aggregates: each month end's rows copied to the days of its month (COPY)."""
    conn = await asyncpg.connect(dsn)
    try:
        columns = [
            "business_date",
            "product",
            "branch",
            "vintage",
            "bucket",
            "class_rank",
            "loans",
            "principal",
            "outstanding_total",
            "overdue",
        ]
        for end in ends[1:]:
            rows = await conn.fetch("SELECT * FROM rpt_daily WHERE business_date = $1", end)
            days = [end.replace(day=d) for d in range(1, end.day)]
            await conn.copy_records_to_table(
                "rpt_daily", records=[(day, *tuple(r)[1:]) for day in days for r in rows], columns=columns
            )
            await conn.copy_records_to_table(
                "rpt_snapshot", records=[(day, False) for day in days], columns=["business_date", "stale"]
            )
        await conn.execute("ANALYZE rpt_daily")
    finally:
        await conn.close()


async def generate(dsn: str, n: int) -> int:
    """Copy `n` loans and their state intervals into rpt_loan / rpt_interval; return the intervals written."""
    rng = random.Random(7)
    conn = await asyncpg.connect(dsn)
    try:
        loans = _loan_rows(n, rng)
        await conn.copy_records_to_table(
            "rpt_loan",
            records=loans,
            columns=[REGISTRATION_COLUMNS[0], "loan_id", *REGISTRATION_COLUMNS[1:], "registered"],
        )
        await conn.execute("DROP INDEX ix_rpt_interval_valid_from; DROP INDEX ix_rpt_interval_valid_to")
        await conn.execute("ALTER TABLE rpt_interval DROP CONSTRAINT pk_rpt_interval")
        total = 0
        for start in range(0, n, CHUNK):
            rows = [row for loan in loans[start : start + CHUNK] for row in _intervals(loan, rng)]
            total += len(rows)
            await conn.copy_records_to_table(
                "rpt_interval",
                records=rows,
                columns=list(INTERVAL_COLUMNS),
            )
        await conn.execute("ALTER TABLE rpt_interval ADD CONSTRAINT pk_rpt_interval PRIMARY KEY (loan_key, valid_from)")
        await conn.execute("CREATE INDEX ix_rpt_interval_valid_from ON rpt_interval (valid_from)")
        await conn.execute("CREATE INDEX ix_rpt_interval_valid_to ON rpt_interval (valid_to)")
        await conn.execute("ANALYZE")
        return total
    finally:
        await conn.close()
