"""risk-alert close of day: re-score and re-classify a book of loans from their feature rows.

Beside it, the raw ceiling: the time asyncpg takes just to fetch the same feature rows.
"""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

import asyncpg
import numpy as np

from bench.report import Result, at_full_scale
from bench.scratch import scratch_database
from postloan_common.db import create_engine, session_factory, sync_url

AS_OF = date(2026, 6, 30)
# The loan_features columns every bench book fills (funds seeds these and its dates only).
LOAN_COLUMNS = ("loan_id", "customer_id", "product", "segment", "principal", "outstanding")
COLUMNS = (
    *LOAN_COLUMNS,
    "overdue",
    "annual_rate",
    "disbursed_on",
    "maturity_date",
    "installment_count",
    "overdue_since",
    "episode_started_on",
    "episode_max",
    "dpd_episodes",
    "last_cured_on",
    "amount_due",
    "amount_paid",
    "payments_count",
    "partial_payments",
    "missed_count",
    "consecutive_misses",
    "broken_promises",
    "contacts",
    "contacts_negative",
    "restructured",
    "observation_start",
    "dirty",
)


def _book(n: int, seed: int = 7, *, first: int = 0) -> list[tuple[object, ...]]:
    """`n` feature rows numbered from `first`: most loans current, a delinquent tail, closed episodes, corporates."""
    rng = np.random.default_rng(seed)
    dpd = np.where(rng.random(n) < 0.08, rng.integers(1, 400, n), 0)
    cured = (dpd == 0) & (rng.random(n) < 0.1)
    corporate = rng.random(n) < 0.02
    missed = rng.poisson(0.3, n) + (dpd > 0)
    broken = rng.poisson(0.1, n)
    contacts = rng.poisson(0.5, n)
    rows: list[tuple[object, ...]] = []
    for k in range(n):
        # i numbers the loan (ids unique across chunks); k indexes this chunk's draws.
        i = first + k
        d = int(dpd[k])
        since = AS_OF - timedelta(days=d) if d else None
        episodes = "[]"
        cured_on = None
        if cured[k]:
            cured_on = AS_OF - timedelta(days=int(rng.integers(5, 300)))
            episodes = json.dumps(
                [{"s": (cured_on - timedelta(days=20)).isoformat(), "e": cured_on.isoformat(), "m": 20}]
            )
        rows.append(
            (
                f"L{i:08d}",
                f"C{i // 3 if corporate[k] else i:08d}",
                "corp-loan" if corporate[k] else "consumer-12m",
                "corporate" if corporate[k] else "retail",
                12000,
                6000,
                500 if d else 0,
                0.12,
                date(2025, 12, 1),
                date(2026, 12, 1),
                12,
                since,
                since,
                d,
                episodes,
                cured_on,
                6000,
                5800 if d else 6000,
                6,
                int(d > 0),
                int(missed[k]),
                int(d > 30) + int(d > 60),
                int(broken[k]),
                int(contacts[k]),
                int(contacts[k] > 1),
                False,
                None,
                True,
            )
        )
    return rows


async def _raw_read(dsn: str, chunk: int) -> tuple[float, int]:
    """Seconds to fetch every active feature row with asyncpg, in keyset chunks."""
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        last, total = "", 0
        while True:
            rows = await conn.fetch(
                "SELECT * FROM loan_features WHERE status = 'active' AND loan_id > $1 ORDER BY loan_id LIMIT $2",
                last,
                chunk,
            )
            if not rows:
                break
            total += len(rows)
            last = rows[-1]["loan_id"]
        return time.perf_counter() - started, total
    finally:
        await conn.close()


async def run(*, scale: float = 1.0) -> list[Result]:
    """Time three close-of-day runs over the book (first, incremental, full) and the raw read of its rows."""
    from postloan_risk_alert.service.close_of_day import rescore
    from postloan_risk_alert.settings import Settings

    n = max(1000, int(1_000_000 * scale))
    async with scratch_database("bench_risk", package="postloan_risk_alert") as (stack, url):
        print(f"risk: seeding {n:,} feature rows", flush=True)
        conn = await asyncpg.connect(sync_url(url))
        try:
            for start in range(0, n, 200_000):
                await conn.copy_records_to_table(
                    "loan_features",
                    records=_book(min(200_000, n - start), seed=start, first=start),
                    columns=list(COLUMNS),
                )
            await conn.execute("VACUUM ANALYZE loan_features")
        finally:
            await conn.close()
        settings = Settings(database_url=url, kafka_bootstrap_servers=stack.kafka_bootstrap)
        raw_seconds, raw_rows = await _raw_read(sync_url(url), settings.rescore_chunk_size)
        print(f"  raw fetch of {raw_rows:,} rows: {raw_seconds:.2f} s", flush=True)

        engine = create_engine(url)
        sessions = session_factory(engine)
        # Day 1: every loan is new. Day 2: the consumer's run, only the working set (features changed,
        # overdue, recently cured, restructured, non-retail). Day 3: every loan re-scored anyway.
        runs = (
            (AS_OF, True, "first close of day", "every loan new: scored, classified, ECL, rules; events for all", 60.0),
            (
                AS_OF + timedelta(days=1),
                False,
                "next close of day, incremental",
                "the consumer's run: only loans whose features changed or move with time are re-scored",
                15.0,
            ),
            (
                AS_OF + timedelta(days=2),
                True,
                "next close of day, full re-score",
                "every loan re-scored and re-classified; only movers written and published",
                None,
            ),
        )
        results = []
        for day, everything, title, what, target in runs:
            started = time.perf_counter()
            async with sessions.begin() as session:
                stats = await rescore(session, business_date=day, settings=settings, everything=everything)
            seconds = time.perf_counter() - started
            text = (
                f"{stats.loans:,} loans re-scored, {stats.scores_written:,} scores / "
                f"{stats.classifications_written:,} classifications written, {stats.score_events:,} score / "
                f"{stats.classification_events:,} class events, {stats.alerts_raised:,} alerts raised, "
                f"{stats.customers:,} customers; phases {stats.phases}"
            )
            print(f"  {title} {day}: {seconds:.2f} s ({text})", flush=True)
            results.append(
                Result(
                    f"risk: {title}, {n:,} loans",
                    seconds,
                    "s",
                    "asyncpg fetch of the same rows",
                    raw_seconds,
                    higher_is_better=False,
                    detail=f"{what}. {text}" + (f"; target ≤ {target:.0f} s at 1,000,000 loans" if target else ""),
                    target=at_full_scale(target, scale) if target else None,
                )
            )
        await engine.dispose()
        return results
