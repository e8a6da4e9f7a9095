"""SQL of crm's projections of other services: loans, their installments, risk, care touchpoints."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.store.tables import care_touchpoints, customers, loans, risk

_REGISTER_LOANS = """
    INSERT INTO loans
        (loan_id, customer_id, product, currency, principal, outstanding, next_due_date, maturity_date, as_of)
    SELECT * FROM unnest(
        CAST(:loan_id AS text[]), CAST(:customer_id AS text[]), CAST(:product AS text[]), CAST(:currency AS text[]),
        CAST(:principal AS numeric[]), CAST(:outstanding AS numeric[]), CAST(:next_due_date AS date[]),
        CAST(:maturity_date AS date[]), CAST(:as_of AS date[]))
    ON CONFLICT (loan_id) DO UPDATE
    SET customer_id = excluded.customer_id, product = excluded.product, currency = excluded.currency,
        principal = excluded.principal, maturity_date = excluded.maturity_date, as_of = excluded.as_of,
        updated_at = now()
"""
_REGISTERED_COLUMNS = (
    "loan_id",
    "customer_id",
    "product",
    "currency",
    "principal",
    "outstanding",
    "next_due_date",
    "maturity_date",
    "as_of",
)


_NEW_LOANS = """
    INSERT INTO loans (loan_id, customer_id)
    SELECT * FROM unnest(CAST(:loan_id AS text[]), CAST(:customer_id AS text[]))
    ON CONFLICT (loan_id) DO NOTHING
"""
_UPDATE_LOANS = """
    UPDATE loans AS l
    SET customer_id = u.customer_id, status = coalesce(u.status, l.status),
        closed_on = coalesce(u.closed_on, l.closed_on), dpd = coalesce(u.dpd, l.dpd),
        bucket = coalesce(u.bucket, l.bucket), overdue = coalesce(u.overdue, l.overdue),
        outstanding = coalesce(u.outstanding, l.outstanding), currency = coalesce(u.currency, l.currency),
        as_of = coalesce(u.as_of, l.as_of), updated_at = now()
    FROM unnest(CAST(:loan_id AS text[]), CAST(:customer_id AS text[]), CAST(:status AS text[]),
                CAST(:closed_on AS date[]), CAST(:dpd AS int[]), CAST(:bucket AS text[]), CAST(:overdue AS numeric[]),
                CAST(:outstanding AS numeric[]), CAST(:currency AS text[]), CAST(:as_of AS date[]))
         AS u(loan_id, customer_id, status, closed_on, dpd, bucket, overdue, outstanding, currency, as_of)
    WHERE l.loan_id = u.loan_id
"""
_LOAN_STATE = ("status", "closed_on", "dpd", "bucket", "overdue", "outstanding", "currency", "as_of")


_INSTALLMENTS = """
    SELECT i.loan_id, i.seq, i.due_date, i.amount_due, i.amount_paid, i.paid_on
    FROM unnest(CAST(:loan_ids AS text[])) AS k(loan_id) JOIN installments_due i ON i.loan_id = k.loan_id
    ORDER BY i.loan_id, i.seq
    FOR UPDATE OF i
"""
_UPDATE_INSTALLMENTS = """
    UPDATE installments_due AS i SET amount_paid = u.amount_paid, paid_on = u.paid_on
    FROM unnest(CAST(:loan_id AS text[]), CAST(:seq AS int[]), CAST(:amount_paid AS numeric[]),
                CAST(:paid_on AS date[])) AS u(loan_id, seq, amount_paid, paid_on)
    WHERE i.loan_id = u.loan_id AND i.seq = u.seq
"""


def _columns(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Rows as column-wise lists, to bind as unnest() arrays."""
    return [list(column) for column in zip(*rows, strict=True)]


async def register_loans(session: AsyncSession, rows: Sequence[Sequence[Any]]) -> None:
    """Insert or refresh registered loans, each row in the order of _REGISTERED_COLUMNS."""
    if rows:
        await session.execute(text(_REGISTER_LOANS), dict(zip(_REGISTERED_COLUMNS, _columns(rows), strict=True)))


async def write_loan_states(session: AsyncSession, states: dict[str, dict[str, Any]]) -> None:
    """Create loans new to crm and write what is said of each (None leaves a column as it is)."""
    if not states:
        return
    loan_ids = sorted(states)
    ordered = [states[i] for i in loan_ids]
    keys = {"loan_id": loan_ids, "customer_id": [s["customer_id"] for s in ordered]}
    await session.execute(text(_NEW_LOANS), keys)
    await session.execute(text(_UPDATE_LOANS), keys | {k: [s.get(k) for s in ordered] for k in _LOAN_STATE})


async def lock_installments(session: AsyncSession, loan_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The installments of `loan_ids`, locked, in loan and seq order."""
    if not loan_ids:
        return []
    return [dict(r) for r in (await session.execute(text(_INSTALLMENTS), {"loan_ids": list(loan_ids)})).mappings()]


async def update_installments(session: AsyncSession, columns: dict[str, list[Any]]) -> None:
    """Write back amount_paid and paid_on of the installments in `columns` (one list per column)."""
    if columns["loan_id"]:
        await session.execute(text(_UPDATE_INSTALLMENTS), columns)


async def upsert_risk(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert or update the risk rows' columns (all rows name the same columns)."""
    if not rows:
        return
    stmt = pg_insert(risk)
    updated = {name: stmt.excluded[name] for name in rows[0] if name != "loan_id"}
    await session.execute(
        stmt.on_conflict_do_update(index_elements=[risk.c.loan_id], set_=updated | {"updated_at": func.now()}), rows
    )


async def insert_touchpoint(
    session: AsyncSession, *, customer_id: str, kind: str, due_on: date, loan_id: str | None, note: str | None
) -> bool:
    """Plan a care touchpoint once per (customer, kind, day); return whether it is new."""
    stmt = pg_insert(care_touchpoints).values(
        customer_id=customer_id, loan_id=loan_id, kind=kind, due_on=due_on, note=note
    )
    stmt = stmt.on_conflict_do_nothing(constraint="uq_care_touchpoints_customer_kind_due_on")
    return (await session.execute(stmt.returning(care_touchpoints.c.id))).first() is not None


async def maturing_loans(session: AsyncSession, *, after: date, until: date) -> list[tuple[str, str, date]]:
    """(loan, customer, maturity date) of active loans maturing after `after` and by `until`."""
    rows = await session.execute(
        select(loans.c.loan_id, loans.c.customer_id, loans.c.maturity_date).where(
            loans.c.status == "active", loans.c.maturity_date > after, loans.c.maturity_date <= until
        )
    )
    return [(loan_id, customer_id, maturity) for loan_id, customer_id, maturity in rows]


async def born_on(session: AsyncSession, day: date) -> list[str]:
    """The customers whose birthday (month and day) is `day`'s."""
    rows = await session.execute(
        select(customers.c.customer_id).where(
            func.extract("month", customers.c.birth_date) == day.month,
            func.extract("day", customers.c.birth_date) == day.day,
        )
    )
    return [customer_id for (customer_id,) in rows]
