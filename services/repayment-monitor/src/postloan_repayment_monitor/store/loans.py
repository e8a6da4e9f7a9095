"""Loans SQL: booking rows, the write-off of a loan, and portfolio figures."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_repayment_monitor.store.tables import installments, loans


async def content_hashes(session: AsyncSession, loan_ids: Iterable[str]) -> dict[str, str]:
    """The content hash of each of `loan_ids` already booked."""
    query = select(loans.c.loan_id, loans.c.content_hash).where(loans.c.loan_id.in_(set(loan_ids)))
    return {row[0]: row[1] for row in (await session.execute(query)).all()}


async def insert_loans(
    session: AsyncSession, *, loan_rows: list[dict[str, object]], installment_rows: list[dict[str, object]]
) -> None:
    """Insert booked loans and their installments, one statement per table."""
    await session.execute(insert(loans), loan_rows)
    await session.execute(insert(installments), installment_rows)


async def lock_for_close(session: AsyncSession, *, loan_id: str) -> Any:
    """The loan's customer, status, disbursement date and credit balance, locked; None when unknown."""
    query = (
        select(loans.c.customer_id, loans.c.status, loans.c.disbursed_on, loans.c.credit_balance)
        .where(loans.c.loan_id == loan_id)
        .with_for_update()
    )
    return (await session.execute(query)).first()


async def mark_written_off(session: AsyncSession, *, loan_id: str, on: date) -> None:
    """Close the loan as written off on `on`."""
    await session.execute(
        update(loans)
        .where(loans.c.loan_id == loan_id)
        .values(status="written_off", closed_on=on, updated_at=func.now())
    )


async def active_by_bucket(session: AsyncSession) -> list[Any]:
    """(bucket, loans, outstanding principal) of active loans per bucket."""
    query = (
        select(loans.c.bucket, func.count(), func.coalesce(func.sum(loans.c.outstanding_principal), 0))
        .where(loans.c.status == "active")
        .group_by(loans.c.bucket)
    )
    return list((await session.execute(query)).all())
