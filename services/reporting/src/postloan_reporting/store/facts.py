"""Loan keys, registrations, installments and loan facts: the rows a run of events adds or merges."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.db import driver_connection
from postloan_common.db_arrays import columns_of, unnest_sql
from postloan_reporting.store.tables import installments, loan_facts, loans

FACT_COLUMNS = (
    "event_id",
    "loan_key",
    "kind",
    "effective_date",
    "business_date",
    "dpd_anchor",
    "outstanding_total",
    "overdue",
    "principal_paid",
    "principal_reset",
    "amount",
    "repayment_id",
    "class_rank",
)
# The optional values of a fact, after its identity and dates.
FACT_VALUES = FACT_COLUMNS[5:]
_INSERT_FACTS = (
    f"INSERT INTO {loan_facts.name} ({', '.join(FACT_COLUMNS)})"
    f" SELECT * FROM {unnest_sql(loan_facts, FACT_COLUMNS)} ON CONFLICT DO NOTHING"
)

INSTALLMENT_COLUMNS = ("loan_key", "seq", "due_date", "amount_due", "missed", "reminded_on")
# The same merge, row by row, as the events one after another: first due date and amount win,
# missed sticks, the first reminder is the earliest.
_UPSERT_INSTALLMENTS = f"""
    INSERT INTO {installments.name} AS i ({", ".join(INSTALLMENT_COLUMNS)})
    SELECT * FROM {unnest_sql(installments, INSTALLMENT_COLUMNS)}
    ON CONFLICT (loan_key, seq) DO UPDATE SET
        due_date = coalesce(i.due_date, EXCLUDED.due_date),
        amount_due = coalesce(i.amount_due, EXCLUDED.amount_due),
        missed = i.missed OR EXCLUDED.missed,
        reminded_on = least(i.reminded_on, EXCLUDED.reminded_on)
"""

REGISTRATION_COLUMNS = (
    "loan_key",
    "customer_id",
    "product",
    "branch",
    "currency",
    "principal",
    "disbursed_on",
    "vintage",
)
_REGISTER = f"""
    UPDATE {loans.name} AS l
    SET {", ".join(f"{name} = r.{name}" for name in REGISTRATION_COLUMNS[1:])}, registered = true
    FROM {unnest_sql(loans, REGISTRATION_COLUMNS)} AS r({", ".join(REGISTRATION_COLUMNS)})
    WHERE l.loan_key = r.loan_key
"""

_KNOWN_KEYS = f"""
    SELECT l.loan_id, l.loan_key FROM unnest($1::text[]) AS t(loan_id) JOIN {loans.name} AS l USING (loan_id)
"""
# Locked in key order: a loan's facts are then written and folded by one transaction at a time,
# so their arrival order (seq) is the order in which folds see them.
_LOCKED_KEYS = _KNOWN_KEYS + " ORDER BY l.loan_key FOR UPDATE OF l"
_NEW_KEYS = f"""
    INSERT INTO {loans.name} (loan_id) SELECT unnest($1::text[]) ON CONFLICT (loan_id) DO NOTHING
"""


async def loan_keys(session: AsyncSession, *, loan_ids: Iterable[str], lock: bool = False) -> dict[str, int]:
    """Surrogate keys of `loan_ids`, creating placeholder loans for ids not seen yet; `lock` their rows."""
    wanted = sorted(set(loan_ids))
    if not wanted:
        return {}
    connection = await driver_connection(session)
    query = _LOCKED_KEYS if lock else _KNOWN_KEYS
    keys = {row["loan_id"]: row["loan_key"] for row in await connection.fetch(query, wanted)}
    if len(keys) < len(wanted):
        await connection.execute(_NEW_KEYS, [loan_id for loan_id in wanted if loan_id not in keys])
        keys = {row["loan_id"]: row["loan_key"] for row in await connection.fetch(query, wanted)}
    return keys


async def register(session: AsyncSession, *, rows: Sequence[tuple[Any, ...]]) -> None:
    """Fill the terms of registered loans (rows in `REGISTRATION_COLUMNS` order)."""
    if rows:
        connection = await driver_connection(session)
        await connection.execute(_REGISTER, *columns_of(rows, len(REGISTRATION_COLUMNS)))


async def merge_installments(session: AsyncSession, *, rows: Sequence[tuple[Any, ...]]) -> None:
    """Merge installment rows (in `INSTALLMENT_COLUMNS` order) into the stored ones."""
    if rows:
        connection = await driver_connection(session)
        await connection.execute(_UPSERT_INSTALLMENTS, *columns_of(rows, len(INSTALLMENT_COLUMNS)))


async def insert_facts(session: AsyncSession, *, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert loan facts (in `FACT_COLUMNS` order); an event's fact already stored is skipped."""
    if rows:
        connection = await driver_connection(session)
        await connection.execute(_INSERT_FACTS, *columns_of(rows, len(FACT_COLUMNS)))
