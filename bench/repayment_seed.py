"""repayment-monitor bench seeding: the portfolio as NDJSON, its repayments, and the raw COPY / UPDATE ceilings."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

from postloan_common.contracts import RepaymentPostedV1, make_envelope
from postloan_common.messaging.envelope import Envelope
from postloan_repayment_monitor.domain.schedule import add_months

DAY = date(2026, 3, 16)  # the business date closed; repayments are posted on the next one
MONTHS = 12
PARTITIONS = 4


# --- the portfolio -------------------------------------------------------------------------------


def _first_due(i: int) -> date:
    if i % 20 == 0:  # 5 % already overdue, spread over 1–120 days
        return DAY - timedelta(days=1 + (i // 20) % 120)
    return DAY + timedelta(days=i % 30)


def portfolio(n: int) -> Iterator[tuple[str, str, date, date, int, list[tuple[date, int]]]]:
    """(loan id, customer id, disbursed on, first due, principal cents, [(due date, interest cents)])."""
    dues: dict[date, list[date]] = {}
    for i in range(n):
        first = _first_due(i)
        if first not in dues:
            dues[first] = [add_months(first, k) for k in range(MONTHS)]
        part = (500 + (i % 50) * 10) * 100
        yield (
            f"L{i:08d}",
            f"C{i % 400_000:07d}",
            first - timedelta(days=30),
            first,
            part * MONTHS,
            [(d, (MONTHS - k) * part // 100) for k, d in enumerate(dues[first])],
        )


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def write_portfolio(path: Path, n: int) -> int:
    """Write `n` POST /v1/loans bodies as NDJSON; return the file size."""
    with path.open("w") as out:
        for loan_id, customer, disbursed, _first, principal, schedule in portfolio(n):
            part = _money(principal // MONTHS)
            installments = ",".join(
                f'{{"seq":{k + 1},"due_date":"{due.isoformat()}","principal":"{part}",'
                f'"interest":"{_money(interest)}","fee":"0.00"}}'
                for k, (due, interest) in enumerate(schedule)
            )
            out.write(
                f'{{"loan_id":"{loan_id}","customer_id":"{customer}","product":"consumer-12m","branch":"SH01",'
                f'"currency":"CNY","principal":"{_money(principal)}","annual_rate":"0.1200",'
                f'"disbursed_on":"{disbursed.isoformat()}","installments":[{installments}]}}\n'
            )
    return path.stat().st_size


# --- raw ceilings --------------------------------------------------------------------------------


async def raw_copy(dsn: str, n: int) -> tuple[float, int]:
    """Seconds to COPY the portfolio's loan and installment rows into plain tables; rows copied."""
    conn = await asyncpg.connect(dsn)
    spent, rows = 0.0, 0
    try:
        await conn.execute("CREATE TABLE raw_loans (LIKE loans INCLUDING DEFAULTS)")
        await conn.execute("CREATE TABLE raw_installments (LIKE installments INCLUDING DEFAULTS)")
        loan_columns = [
            *("loan_id", "customer_id", "product", "branch", "currency", "principal", "annual_rate"),
            *("disbursed_on", "penalty_rate", "grace_days", "status", "content_hash", "booked_via"),
            *("oldest_unpaid_due", "bucket", "outstanding_principal"),
        ]
        installment_columns = ("loan_id", "seq", "due_date", "grace_ends_on", "principal", "interest", "fee")
        loans = portfolio(n)
        rate, penalty = Decimal("0.12"), Decimal("0.18")
        while True:
            loans_rows: list[tuple[Any, ...]] = []
            installment_rows: list[tuple[Any, ...]] = []
            for loan_id, customer, disbursed, first, principal, schedule in loans:
                amount = Decimal(principal).scaleb(-2)
                part = Decimal(principal // MONTHS).scaleb(-2)
                loan = (loan_id, customer, "consumer-12m", "SH01", "CNY", amount, rate, disbursed, penalty, 0)
                loans_rows.append((*loan, "active", "0" * 64, "bulk", first, "M0", amount))
                installment_rows.extend(
                    (loan_id, k + 1, due, due, part, Decimal(interest).scaleb(-2), Decimal(0))
                    for k, (due, interest) in enumerate(schedule)
                )
                if len(loans_rows) == 25_000:
                    break
            if not loans_rows:
                break
            started = time.perf_counter()
            async with conn.transaction():
                await conn.copy_records_to_table("raw_loans", records=loans_rows, columns=loan_columns)
                await conn.copy_records_to_table(
                    "raw_installments", records=installment_rows, columns=installment_columns
                )
            spent += time.perf_counter() - started
            rows += len(loans_rows) + len(installment_rows)
        await conn.execute("DROP TABLE raw_loans; DROP TABLE raw_installments")
        return spent, rows
    finally:
        await conn.close()


async def raw_update(dsn: str) -> float:
    """Seconds for one UPDATE of every loan row (rolled back: the table is left as it was)."""
    conn = await asyncpg.connect(dsn)
    try:
        tx = conn.transaction()
        await tx.start()
        started = time.perf_counter()
        await conn.execute("UPDATE loans SET updated_at = now()")
        spent = time.perf_counter() - started
        await tx.rollback()
        return spent
    finally:
        await conn.close()


def repayments(n: int, loans: int, value_date: date, *, prefix: str = "R") -> list[Envelope]:
    out = []
    for i, (loan_id, _c, _d, _f, principal, schedule) in enumerate(portfolio(min(n, loans))):
        amount = Decimal(principal // MONTHS + schedule[0][1]).scaleb(-2)
        data = RepaymentPostedV1(
            loan_id=loan_id,
            repayment_id=f"{prefix}{i:08d}",
            amount=amount,
            value_date=value_date,
            channel="bank-transfer",
        )
        out.append(make_envelope(data=data, source="core-banking", subject=loan_id))
    return out
