"""Loan files SQL: the hot reads and set-based writes of a replay (asyncpg, arrays bound to unnest())."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

# Joined to unnest() rather than filtered with = ANY(): the planner then probes the index once per
# key, where an ANY filter over a not-yet-analysed table becomes a scan comparing every row to
# every key (seen: 2 s per 10,000 repayments, growing with the table).
_INSTALLMENTS = """
    SELECT i.loan_id, i.seq, i.due_date, i.principal, i.interest, i.fee, i.paid_principal, i.paid_interest,
           i.paid_fee, i.paid_penalty, i.penalty_accrued, i.penalty_as_of, i.settled_on
    FROM unnest($1::text[]) AS k(loan_id) JOIN installments i ON i.loan_id = k.loan_id
"""
_REPAYMENTS = """
    SELECT r.loan_id, r.repayment_id, r.amount, r.value_date, r.posting_seq
    FROM unnest($1::text[]) AS k(loan_id) JOIN repayments r ON r.loan_id = k.loan_id
    WHERE r.status = 'posted'
"""
_ALLOCATIONS = """
    SELECT a.loan_id, a.repayment_id, a.seq, a.component, a.amount
    FROM unnest($1::text[]) AS k(loan_id) JOIN allocations a ON a.loan_id = k.loan_id
"""
_LOANS = "SELECT * FROM loans WHERE loan_id = ANY($1::text[]) ORDER BY loan_id"


_RESTRUCTURINGS = """
    SELECT r.loan_id, r.restructure_id, r.restructured_on, r.outstanding_principal, r.annual_rate, r.penalty_rate,
           r.replaced_penalty_rate, r.first_seq, r.installment_count, r.after_posting_seq
    FROM unnest($1::text[]) AS k(loan_id) JOIN restructurings r ON r.loan_id = k.loan_id
    ORDER BY r.loan_id, r.restructured_on
"""
_REPLACED = """
    SELECT i.loan_id, i.seq, i.due_date, i.principal, i.interest, i.fee
    FROM unnest($1::text[]) AS k(loan_id) JOIN replaced_installments i ON i.loan_id = k.loan_id
"""


_UPDATE_INSTALLMENTS = """
    UPDATE installments i SET paid_principal = u.pp, paid_interest = u.pi, paid_fee = u.pf, paid_penalty = u.pn,
        penalty_accrued = u.pa, penalty_as_of = u.pd, settled_on = u.so
    FROM unnest($1::text[], $2::int[], $3::numeric[], $4::numeric[], $5::numeric[], $6::numeric[], $7::numeric[],
                $8::date[], $9::date[]) AS u(loan_id, seq, pp, pi, pf, pn, pa, pd, so)
    WHERE i.loan_id = u.loan_id AND i.seq = u.seq
"""
_DELETE_ALLOCATIONS = """
    DELETE FROM allocations a USING unnest($1::text[]) AS k(repayment_id) WHERE a.repayment_id = k.repayment_id
"""
_INSERT_ALLOCATIONS = """
    INSERT INTO allocations (repayment_id, loan_id, seq, component, amount)
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::numeric[])
"""
_UPDATE_LOANS = """
    UPDATE loans l SET oldest_unpaid_due = u.oud, bucket = u.bucket, outstanding_principal = u.op,
        credit_balance = u.cb, status = u.status, closed_on = u.closed_on, updated_at = now()
    FROM unnest($1::text[], $2::date[], $3::text[], $4::numeric[], $5::numeric[], $6::text[], $7::date[])
        AS u(loan_id, oud, bucket, op, cb, status, closed_on)
    WHERE l.loan_id = u.loan_id
"""


async def loan_rows(conn: Any, ids: list[str], *, lock: bool) -> list[SimpleNamespace]:
    """The loans' rows in key order, locked FOR UPDATE when `lock` (so concurrent batches cannot deadlock)."""
    # asyncpg directly: these are the hot reads of repayment ingest (12+ rows per loan).
    return [SimpleNamespace(**r) for r in await conn.fetch(_LOANS + (" FOR UPDATE" if lock else ""), ids)]


async def installment_rows(conn: Any, ids: list[str]) -> list[Any]:
    """Installments of the loans: loan_id, seq, due_date, amounts, then the paid state persist() compares."""
    return list(await conn.fetch(_INSTALLMENTS, ids))


async def posted_repayment_rows(conn: Any, ids: list[str]) -> list[Any]:
    """Posted repayments of the loans: loan_id, repayment_id, amount, value_date, posting_seq."""
    return list(await conn.fetch(_REPAYMENTS, ids))


async def allocation_rows(conn: Any, ids: list[str]) -> list[Any]:
    """Allocations of the loans: loan_id, repayment_id, seq, component, amount."""
    return list(await conn.fetch(_ALLOCATIONS, ids))


async def restructuring_rows(conn: Any, ids: list[str]) -> list[Any]:
    """Restructurings of the loans, oldest first per loan."""
    return list(await conn.fetch(_RESTRUCTURINGS, ids))


async def replaced_installment_rows(conn: Any, ids: list[str]) -> list[Any]:
    """Installments restructurings replaced: loan_id, seq, due_date, principal, interest, fee."""
    return list(await conn.fetch(_REPLACED, ids))


async def write_replays(
    conn: Any,
    *,
    installments: list[list[Any]],
    stale_repayments: list[str],
    allocations: list[list[Any]],
    loans: list[list[Any]],
) -> None:
    """Write column-wise arrays of changed installments, allocations and loan summaries, one statement each."""
    if installments[0]:
        await conn.execute(_UPDATE_INSTALLMENTS, *installments)
    if stale_repayments:
        await conn.execute(_DELETE_ALLOCATIONS, stale_repayments)
    if allocations[0]:
        await conn.execute(_INSERT_ALLOCATIONS, *allocations)
    await conn.execute(_UPDATE_LOANS, *loans)
