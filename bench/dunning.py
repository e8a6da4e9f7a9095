"""crm's dunning run (issue 16): the messages a close of day over 1,000,000 loans plans for ~40,000 overdue ones.

crm's database is seeded directly with what the run reads — the loans' projection, one open case per
overdue loan (60 % automated queue, the rest phone queues), customers with a phone, an e-mail and
collection consent — because the figure is about planning, not about how the cases got there. Then
`plan_dunning`, the consumer's day-closed step, runs once per partition of the day, each in its own
transaction as the consumer runs it: first on the day dunning goes live (nothing planned before, so
every overdue case gets the step it has reached: the heaviest day), then on the next (the steady day:
only the cases reaching a new step).

Raw ceiling, in the same run: one fetch of the overdue cases joined to their loans and a COPY of as
many planned rows into a scratch copy of `communications`. Target (scale 1.0): under 30 s.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg

from bench.report import Result, at_full_scale
from bench.scratch import fill_tables, scratch_database
from postloan_common.db import create_engine, session_factory, sync_url
from postloan_crm.domain.dunning import PHONE_QUEUES
from postloan_crm.service.dunning import plan_dunning

TODAY = date(2026, 6, 1)
PARTITIONS = 4
OVERDUE_SHARE = 0.04
TARGET_S = 30.0


def _bucket(dpd: int) -> str:
    return "M0" if dpd <= 0 else "M1" if dpd < 30 else "M2" if dpd < 60 else "M3" if dpd < 90 else "M4+"


def _rows(loans: int, rng: random.Random) -> dict[str, tuple[list[tuple], tuple[str, ...]]]:
    """Rows of every seeded table, with their columns; yesterday's DPD, so today's is one more."""
    loan_rows, customer_rows, points, consents, cases = [], [], [], [], []
    for i in range(loans):
        loan_id, customer_id = f"L{i:07d}", f"C{i:07d}"
        overdue = rng.random() < OVERDUE_SHARE
        dpd = rng.randint(0, 119) if overdue else 0
        amount = Decimal(rng.randint(200, 60_000)).scaleb(-2) * 10 if overdue else Decimal(0)
        loan_rows.append((loan_id, customer_id, "active", "CNY", dpd, _bucket(dpd), amount, TODAY - timedelta(days=1)))
        customer_rows.append((customer_id, f"Customer {i}", f"ID{i:012d}", "zh-CN", "Asia/Shanghai", "CN", "event"))
        points += [
            (customer_id, "phone", f"+86138{i:08d}", "mobile", 0),
            (customer_id, "email", f"c{i}@example.cn", None, 1),
        ]
        consents += [(customer_id, channel, "collection", True) for channel in ("sms", "email", "letter")]
        if not overdue:
            continue
        queue = "automated" if rng.random() < 0.6 else rng.choice(PHONE_QUEUES)
        case_id = f"K{i:07d}"
        cases.append(
            (
                case_id,
                loan_id,
                customer_id,
                "open",
                queue,
                _bucket(dpd),
                dpd,
                amount,
                "CNY",
                TODAY - timedelta(days=dpd),
            )
        )
    # fmt: off
    return {
        "loans": (loan_rows, ("loan_id", "customer_id", "status", "currency", "dpd", "bucket", "overdue", "as_of")),
        "customers": (customer_rows, ("customer_id", "name", "national_id", "language", "timezone", "jurisdiction",
                                      "source")),
        "contact_points": (points, ("customer_id", "kind", "value", "label", "position")),
        "consents": (consents, ("customer_id", "channel", "purpose", "granted")),
        "cases": (cases, ("case_id", "loan_id", "customer_id", "status", "queue", "bucket", "dpd", "overdue_amount",
                          "currency", "opened_on")),
    }
    # fmt: on


async def seed(conn: asyncpg.Connection, *, loans: int) -> int:
    """Fill crm's tables the dunning run reads; ANALYZE as production would have. Returns the open cases."""
    tables = _rows(loans, random.Random(16))
    await fill_tables(conn, tables, business_date=TODAY)
    return len(tables["cases"][0])


def _ten_oclock(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, tzinfo=UTC)  # inside every default contact window


async def _plan_day(url: str, day: date) -> tuple[float, int]:
    """Seconds for every partition's plan of `day`, and how many messages they planned."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    planned = 0
    try:
        started = time.perf_counter()
        for partition in range(PARTITIONS):
            async with sessions.begin() as session:
                rows = await plan_dunning(
                    session, business_date=day, partition=partition, partitions=PARTITIONS, now=_ten_oclock(day)
                )
                planned += len(rows)
        return time.perf_counter() - started, planned
    finally:
        await engine.dispose()


async def _ceiling(conn: asyncpg.Connection, planned: int) -> float:
    """One fetch of the overdue cases and a COPY of `planned` rows into a scratch copy of communications."""
    await conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS scratch_communications (LIKE communications INCLUDING DEFAULTS)"
    )
    await conn.execute("TRUNCATE scratch_communications")
    rows = [
        (f"X{i:08d}", f"C{i:07d}", "dunning", "sms", "dunning-overdue", "zh-CN", "…", "queued", _ten_oclock(TODAY), 1)
        for i in range(planned)
    ]
    columns = ("communication_id", "customer_id", "kind", "channel", "template", "language", "body", "status",
               "send_after", "step")  # fmt: skip
    started = time.perf_counter()
    await conn.fetch(
        "SELECT c.*, l.dpd, l.as_of, l.overdue, l.status FROM cases c JOIN loans l USING (loan_id)"
        " WHERE c.status = 'open' AND l.dpd > 0"
    )
    await conn.copy_records_to_table("scratch_communications", records=rows, columns=columns)
    return time.perf_counter() - started


async def run(*, scale: float = 1.0) -> list[Result]:
    """Seed crm with a book and its overdue cases, then time the day's dunning plan beside the raw ceiling."""
    loans = max(5_000, int(1_000_000 * scale))
    async with scratch_database("bench_dunning", package="postloan_crm") as (_stack, url):
        conn = await asyncpg.connect(sync_url(url))
        try:
            cases = await seed(conn, loans=loans)
            print(f"dunning: {loans:,} loans, {cases:,} open overdue cases, {PARTITIONS} partitions", flush=True)
            results = []
            for label, day in (("go-live day", TODAY), ("next day", TODAY + timedelta(days=1))):
                seconds, planned = await _plan_day(url, day)
                ceiling = await _ceiling(conn, planned)
                print(
                    f"  {label}: {planned:,} messages in {seconds:.2f} s; raw fetch + COPY {ceiling:.2f} s", flush=True
                )
                results.append(_result(label, loans, cases, seconds, planned, ceiling, scale))
        finally:
            await conn.close()
    return results


def _result(label: str, loans: int, cases: int, seconds: float, planned: int, ceiling: float, scale: float) -> Result:
    return Result(
        f"crm: dunning run of a close of day ({label}), {loans:,} loans ({cases:,} overdue)",
        seconds,
        "s",
        "fetch of the overdue cases + COPY of as many rows",
        ceiling,
        higher_is_better=False,
        detail=f"{planned:,} messages planned over {PARTITIONS} partitions; target < {TARGET_S:.0f} s at 1M loans",
        target=at_full_scale(TARGET_S, scale),
    )
