"""Reporting queries on a generated book (1,000,000 loans, 12 months at scale 1) beside raw scans.

Analytics rows are generated directly (COPY), not through events: loans, state intervals (a few per
loan, as state changes), synthetic daily aggregates, and real snapshots built at month ends.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import asyncpg

from bench.report import Result
from postloan_common.db import create_engine, drop_database, ensure_database, session_factory, sync_url, with_database
from postloan_common.devstack import start_devstack
from postloan_common.migrations import service_dir, upgrade
from postloan_reporting.domain.intervals import FOREVER
from postloan_reporting.domain.model import add_months, month_end
from postloan_reporting.render.pdf import render_pdf
from postloan_reporting.service import reports, snapshots
from postloan_reporting.service.management import management_report
from postloan_reporting.service.reports import Filters

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


async def _fill_days(dsn: str, ends: list[date]) -> None:
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


async def _generate(dsn: str, n: int) -> int:
    rng = random.Random(7)
    conn = await asyncpg.connect(dsn)
    try:
        loans = _loan_rows(n, rng)
        await conn.copy_records_to_table(
            "rpt_loan",
            records=loans,
            columns=[
                "loan_key",
                "loan_id",
                "customer_id",
                "product",
                "branch",
                "currency",
                "principal",
                "disbursed_on",
                "vintage",
                "registered",
            ],
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
                columns=[
                    "loan_key",
                    "valid_from",
                    "valid_to",
                    "dpd_anchor",
                    "principal",
                    "outstanding_total",
                    "overdue",
                    "class_rank",
                    "product",
                    "branch",
                    "vintage",
                ],
            )
        await conn.execute("ALTER TABLE rpt_interval ADD CONSTRAINT pk_rpt_interval PRIMARY KEY (loan_key, valid_from)")
        await conn.execute("CREATE INDEX ix_rpt_interval_valid_from ON rpt_interval (valid_from)")
        await conn.execute("CREATE INDEX ix_rpt_interval_valid_to ON rpt_interval (valid_to)")
        await conn.execute("ANALYZE")
        return total
    finally:
        await conn.close()


async def _timed(coro_factory, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        await coro_factory()
        best = min(best, time.perf_counter() - started)
    return best


async def run(*, scale: float = 1.0) -> list[Result]:
    """Time the portfolio, roll-rate and management reports with the raw scans of their rows."""
    n = max(1000, int(1_000_000 * scale))
    stack = start_devstack()
    db = f"bench_rpt_{uuid.uuid4().hex[:8]}"
    try:
        await ensure_database(stack.postgres_url, db)
        url = with_database(stack.postgres_url, db)
        upgrade(service_dir("postloan_reporting"), url)
        started = time.perf_counter()
        interval_count = await _generate(sync_url(url), n)
        print(
            f"reporting: {n:,} loans, {interval_count:,} intervals generated in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        engine = create_engine(url)
        sessions = session_factory(engine)
        ends = sorted({month_end(add_months(AS_OF, -k)) for k in range(0, 13)})
        started = time.perf_counter()
        async with sessions.begin() as session:
            for day in ends:
                await snapshots.build(session, business_date=day)
        build_s = (time.perf_counter() - started) / len(ends)
        print(f"  snapshot build {build_s:.2f} s per day", flush=True)
        await _fill_days(sync_url(url), ends)
        raw = await asyncpg.connect(sync_url(url))
        try:

            async def raw_daily() -> None:
                await raw.fetch("SELECT * FROM rpt_daily WHERE business_date = $1", AS_OF)

            async def raw_intervals() -> None:
                for day in (ends[0], AS_OF):
                    await raw.fetch(
                        "SELECT loan_key, dpd_anchor, principal FROM rpt_interval"
                        " WHERE valid_from <= $1 AND valid_to > $1",
                        day,
                    )

            raw_daily_s = await _timed(raw_daily)
            raw_roll_s = await _timed(raw_intervals, repeat=2)
        finally:
            await raw.close()

        async def three_reports() -> None:
            async with sessions() as session:
                for _ in range(3):  # portfolio, aging, classification: one query each, as the API does
                    await reports.portfolio_report(session, as_of=AS_OF, filters=Filters())

        async def roll() -> None:
            async with sessions() as session:
                await reports.roll_rates(session, start=ends[0], end=AS_OF, filters=Filters())

        async def management() -> None:
            async with sessions() as session:
                render_pdf(await management_report(session, as_of=AS_OF, filters=Filters()), "zh-CN")

        portfolio_s = await _timed(three_reports)
        roll_s = await _timed(roll, repeat=2)
        management_s = await _timed(management, repeat=1)
        print(
            f"  portfolio+aging+classification {portfolio_s:.3f} s (raw {raw_daily_s:.3f}); roll {roll_s:.2f} s "
            f"(raw {raw_roll_s:.2f}); management {management_s:.2f} s",
            flush=True,
        )
        await engine.dispose()
        detail = f"{n:,} loans, {interval_count:,} intervals, 12 months of daily aggregates"
        return [
            Result(
                "reporting: portfolio+aging+classification",
                portfolio_s,
                "s",
                "raw fetch of the day's aggregates",
                raw_daily_s,
                higher_is_better=False,
                detail=f"{detail}; target < 1 s",
            ),
            Result(
                "reporting: roll-rate matrix, 12 months apart",
                roll_s,
                "s",
                "raw fetch of both days' intervals",
                raw_roll_s,
                higher_is_better=False,
                detail=f"{ends[0]} → {AS_OF}; target < 2 s",
            ),
            Result(
                "reporting: management report (PDF)",
                management_s,
                "s",
                "raw fetch of both days' intervals",
                raw_roll_s,
                higher_is_better=False,
                detail=f"13 trend days, roll rates, vintages, collections; target < 30 s; "
                f"snapshot build {build_s:.2f} s/day",
            ),
        ]
    finally:
        await drop_database(stack.postgres_url, db)
        stack.stop()
