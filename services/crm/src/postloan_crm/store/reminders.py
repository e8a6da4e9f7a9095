"""SQL of reminders: installments told due, loans' next due date, planned communications."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.store.tables import communications

_NOTE_INSTALLMENTS = """
    INSERT INTO installments_due
        (loan_id, seq, customer_id, due_date, amount_due, amount_paid, currency, payment_reference, paid_on)
    SELECT u.loan_id, u.seq, u.customer_id, u.due_date, u.amount_due, 0, u.currency, u.payment_reference, NULL
    FROM unnest(CAST(:loan_id AS text[]), CAST(:seq AS int[]), CAST(:customer_id AS text[]),
                CAST(:due_date AS date[]), CAST(:amount_due AS numeric[]), CAST(:currency AS text[]),
                CAST(:payment_reference AS text[]))
         AS u(loan_id, seq, customer_id, due_date, amount_due, currency, payment_reference)
    ON CONFLICT ON CONSTRAINT pk_installments_due DO UPDATE
    SET amount_due = excluded.amount_due, amount_paid = excluded.amount_paid, due_date = excluded.due_date,
        payment_reference = excluded.payment_reference, paid_on = NULL
"""
_INSTALLMENT_COLUMNS = ("loan_id", "seq", "customer_id", "due_date", "amount_due", "currency", "payment_reference")
_NOTE_NEXT_DUE = """
    UPDATE loans AS l SET next_due_date = u.due_date, next_due_amount = u.amount_due
    FROM unnest(CAST(:loan_id AS text[]), CAST(:due_date AS date[]), CAST(:amount_due AS numeric[]))
         AS u(loan_id, due_date, amount_due)
    WHERE l.loan_id = u.loan_id AND (l.next_due_date IS NULL OR l.next_due_date <= u.due_date)
"""


async def upsert_installments_due(session: AsyncSession, rows: Sequence[Sequence[Any]]) -> None:
    """Insert or refresh installments, each row in the order of _INSTALLMENT_COLUMNS."""
    if rows:
        await session.execute(text(_NOTE_INSTALLMENTS), dict(zip(_INSTALLMENT_COLUMNS, _columns(rows), strict=True)))


async def move_next_due(
    session: AsyncSession, *, loan_id: list[str], due_date: list[Any], amount_due: list[Any]
) -> None:
    """Move loans' next due date (and amount) forward, never back."""
    if loan_id:
        await session.execute(
            text(_NOTE_NEXT_DUE), {"loan_id": loan_id, "due_date": due_date, "amount_due": amount_due}
        )


async def insert_communications(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Store planned communications; one already planned for the same source event stays as it is."""
    if rows:
        stmt = pg_insert(communications).on_conflict_do_nothing(index_elements=["source_event_id"])
        await session.execute(stmt, list(rows))


def _columns(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Rows as column-wise lists, to bind as unnest() arrays."""
    return [list(column) for column in zip(*rows, strict=True)]
