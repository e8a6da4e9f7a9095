"""Bulk load SQL: staging tables filled by COPY, set-based inserts from them, and bulk job rows."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.messaging.encoding import OUTBOX_COPY_COLUMNS
from postloan_repayment_monitor.store.tables import bulk_jobs

_STAGE = """
SET LOCAL temp_buffers = '128MB';
CREATE TEMP TABLE bulk_stage_loans (
    line_no bigint, loan_id text, customer_id text, product text, branch text, currency text,
    principal numeric, annual_rate numeric, disbursed_on date, content_hash text,
    installment_count integer, first_due_date date, maturity_date date
) ON COMMIT DROP;
CREATE TEMP TABLE bulk_stage_installments (
    loan_id text, seq integer, due_date date, principal numeric, interest numeric, fee numeric
) ON COMMIT DROP;
CREATE TEMP TABLE bulk_created (loan_id text, grace_days integer, shifts boolean) ON COMMIT DROP;
"""
_STAGE_LOAN_COLUMNS = (
    "line_no",
    "loan_id",
    "customer_id",
    "product",
    "branch",
    "currency",
    "principal",
    "annual_rate",
    "disbursed_on",
    "content_hash",
    "installment_count",
    "first_due_date",
    "maturity_date",
)
_STAGE_INSTALLMENT_COLUMNS = ("loan_id", "seq", "due_date", "principal", "interest", "fee")

# $1 business date, $2 default penalty multiplier, $3 default grace days. The penalty rate and
# grace period are the product's (ProductRules.penalty_rate), snapshot at booking as book_loans does.
# When a product in the chunk shifts due dates, {shift} joins the calendar's shifts ($4 the
# non-business days, $5 the business day each moves to) to the first due date of its loans.
_INSERT_LOANS = """
WITH ins AS (
    INSERT INTO loans (loan_id, customer_id, product, branch, currency, principal, annual_rate, disbursed_on,
                       penalty_rate, grace_days, status, content_hash, booked_via, oldest_unpaid_due, bucket,
                       outstanding_principal)
    SELECT s.loan_id, s.customer_id, s.product, s.branch, s.currency, s.principal, s.annual_rate, s.disbursed_on,
           coalesce(p.penalty_annual_rate, s.annual_rate * coalesce(p.penalty_multiplier, $2::numeric)),
           coalesce(p.grace_days, $3::integer), 'active', s.content_hash, 'bulk', {first_due},
           {bucket}, s.principal
    FROM bulk_stage_loans s LEFT JOIN products p ON p.code = s.product {shift}
    ON CONFLICT (loan_id) DO NOTHING
    RETURNING loan_id, grace_days, product
)
INSERT INTO bulk_created (loan_id, grace_days, shifts) SELECT loan_id, grace_days, {shifts} FROM ins RETURNING loan_id
"""
_SHIFT_FIRST_DUE = """
    LEFT JOIN unnest($4::date[], $5::date[]) AS m(day, next_day) ON p.shift_due_dates AND m.day = s.first_due_date
"""

# A loan inserted just above has no installments yet, so no ON CONFLICT is needed here.
_INSERT_INSTALLMENTS = """
INSERT INTO installments (loan_id, seq, due_date, grace_ends_on, principal, interest, fee)
SELECT i.loan_id, i.seq, i.due_date, i.due_date + c.grace_days, i.principal, i.interest, i.fee
FROM bulk_stage_installments i JOIN bulk_created c ON c.loan_id = i.loan_id
"""
# The same for a chunk with loans of shifting products: $1 non-business days, $2 where they move to.
_INSERT_SHIFTED_INSTALLMENTS = """
INSERT INTO installments (loan_id, seq, due_date, contract_due_date, grace_ends_on, principal, interest, fee)
SELECT i.loan_id, i.seq, coalesce(m.next_day, i.due_date), CASE WHEN m.next_day IS NOT NULL THEN i.due_date END,
       coalesce(m.next_day, i.due_date) + c.grace_days, i.principal, i.interest, i.fee
FROM bulk_stage_installments i JOIN bulk_created c ON c.loan_id = i.loan_id
LEFT JOIN unnest($1::date[], $2::date[]) AS m(day, next_day) ON c.shifts AND m.day = i.due_date
"""
_SHIFTING_PRODUCTS = "SELECT code FROM products WHERE shift_due_dates AND code = ANY($1::text[])"

_HISTORY_COLUMNS = ("loan_id", "event_id", "event_type", "business_date", "data")

_NOT_CREATED = """
SELECT s.line_no, s.loan_id, l.content_hash = s.content_hash AS same
FROM bulk_stage_loans s JOIN loans l ON l.loan_id = s.loan_id
WHERE NOT EXISTS (SELECT 1 FROM bulk_created c WHERE c.loan_id = s.loan_id)
ORDER BY s.line_no
"""


async def stage(conn: Any, *, loans: str, installments: str) -> None:
    """Create the chunk's staging tables and COPY its loans and installments (COPY text) into them."""
    await conn.execute(_STAGE)
    await conn.copy_to_table(
        "bulk_stage_loans", source=io.BytesIO(loans.encode()), columns=_STAGE_LOAN_COLUMNS, format="text"
    )
    await conn.copy_to_table(
        "bulk_stage_installments",
        source=io.BytesIO(installments.encode()),
        columns=_STAGE_INSTALLMENT_COLUMNS,
        format="text",
    )


async def shifting_products(conn: Any, products: list[str]) -> set[str]:
    """Those of `products` whose due dates move off non-business days."""
    return {r[0] for r in await conn.fetch(_SHIFTING_PRODUCTS, products)}


async def insert_loans(
    conn: Any,
    *,
    today: date,
    bucket_sql: Any,
    penalty_multiplier: Decimal,
    grace_days: int,
    shifting: set[str],
    shifts: dict[date, date],
) -> set[str]:
    """Insert the staged loans not booked yet and their installments; return the ids created.

    `bucket_sql(first_due)` is the SQL of the delinquency bucket on `$1` of that first due date.
    """
    if shifting:
        first_due = "coalesce(m.next_day, s.first_due_date)"
        statement = _INSERT_LOANS.format(
            first_due=first_due,
            bucket=bucket_sql(first_due),
            shift=_SHIFT_FIRST_DUE,
            shifts="product = ANY($6::text[])",
        )
        days, next_days = list(shifts), list(shifts.values())
        shift_args: tuple[Any, ...] = (days, next_days, list(shifting))
    else:
        first_due = "s.first_due_date"
        statement = _INSERT_LOANS.format(first_due=first_due, bucket=bucket_sql(first_due), shift="", shifts="false")
        shift_args = ()
    created = {r[0] for r in await conn.fetch(statement, today, penalty_multiplier, grace_days, *shift_args)}
    if shifting:
        await conn.execute(_INSERT_SHIFTED_INSTALLMENTS, days, next_days)
    else:
        await conn.execute(_INSERT_INSTALLMENTS)
    return created


async def copy_events(conn: Any, *, outbox: list[tuple[Any, ...]], history: bytes) -> None:
    """COPY the events' outbox records (encoding.OUTBOX_COPY_COLUMNS) and loan history rows (COPY text)."""
    await conn.copy_records_to_table("outbox", records=outbox, columns=OUTBOX_COPY_COLUMNS)
    await conn.copy_to_table("loan_events", source=io.BytesIO(history), columns=_HISTORY_COLUMNS, format="text")


async def not_created(conn: Any) -> list[tuple[int, str, bool]]:
    """Staged loans already booked: (line, loan id, whether the booked content is the same)."""
    return [(r["line_no"], r["loan_id"], bool(r["same"])) for r in await conn.fetch(_NOT_CREATED)]


async def insert_job(session: AsyncSession, *, job_id: str, fmt: str, submitted_by: str) -> None:
    """Insert a running bulk job row."""
    await session.execute(
        insert(bulk_jobs).values(job_id=job_id, status="running", format=fmt, submitted_by=submitted_by)
    )


async def update_job(session: AsyncSession, *, job_id: str, values: dict[str, Any]) -> None:
    """Update a bulk job's counters, status or finish time (and its time of last progress)."""
    await session.execute(update(bulk_jobs).where(bulk_jobs.c.job_id == job_id).values(**values, updated_at=func.now()))


async def fail_silent_jobs(session: AsyncSession, *, silent_for: timedelta, reason: str) -> list[str]:
    """Mark failed the running jobs without progress for `silent_for`, adding `reason`; their ids."""
    error = func.jsonb_build_array(func.jsonb_build_object("line", None, "loan_id", None, "reason", reason))
    statement = (
        update(bulk_jobs)
        .where(bulk_jobs.c.status == "running", bulk_jobs.c.updated_at < func.now() - silent_for)
        .values(
            status="failed", finished_at=func.now(), updated_at=func.now(), errors=bulk_jobs.c.errors.op("||")(error)
        )
        .returning(bulk_jobs.c.job_id)
    )
    return list((await session.execute(statement)).scalars().all())


async def select_job(session: AsyncSession, *, job_id: str) -> dict[str, Any] | None:
    """The bulk job row, or None."""
    # updated_at is bookkeeping for the start-up sweep, not part of the job's answer.
    columns = [c for c in bulk_jobs.c if c.name != "updated_at"]
    row = (await session.execute(select(*columns).where(bulk_jobs.c.job_id == job_id))).mappings().first()
    return dict(row) if row is not None else None
