"""Read models: loan detail, schedule, the overdue work list, event history, bucket history."""

from __future__ import annotations

import base64
import json
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_repayment_monitor.domain.delinquency import days_past_due
from postloan_repayment_monitor.domain.ledger import InstallmentState, Ledger
from postloan_repayment_monitor.domain.money import ZERO, cents
from postloan_repayment_monitor.domain.rules import BucketScheme, Component
from postloan_repayment_monitor.service.ledgers import LoanFile, load_loans
from postloan_repayment_monitor.store import queries as store

_PARTS = (Component.PRINCIPAL, Component.INTEREST, Component.FEE, Component.PENALTY)


class BadCursor(ValueError):
    """The pagination cursor was not produced by this API."""


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadCursor("cursor is not valid") from exc
    if not isinstance(values, list):
        raise BadCursor("cursor is not valid")
    return values


def _amounts(values: dict[str, Decimal]) -> dict[str, Decimal]:
    parts = {c.value: values.get(c.value, ZERO) for c in _PARTS}
    return {**parts, "total": sum(parts.values(), ZERO)}


async def loan_file(session: AsyncSession, loan_id: str) -> LoanFile | None:
    """The loan with its schedule and posted repayments, or None."""
    return (await load_loans(session, [loan_id])).get(loan_id)


async def current_ledger(session: AsyncSession, loan_id: str, as_of: date) -> tuple[LoanFile, Ledger] | None:
    """The loan and its ledger as of `as_of`: the stored state brought to that day, else a replay; or None."""
    file = (await load_loans(session, [loan_id], history=False)).get(loan_id)
    if file is None:
        return None
    ledger = file.current(as_of)
    if ledger is not None:
        return file, ledger
    file = await loan_file(session, loan_id)
    assert file is not None
    return file, file.replay(as_of)


def loan_detail(file: LoanFile, ledger: Ledger, buckets: BucketScheme) -> dict[str, Any]:
    """Status, outstanding and overdue amounts by component, DPD, bucket and next due, as of ledger.as_of."""
    row = file.row
    outstanding = ledger.outstanding()
    next_due = next((i for i in ledger.installments if i.due_date >= ledger.as_of and i.open_amount > 0), None)
    return {
        "loan_id": row.loan_id,
        "customer_id": row.customer_id,
        "product": row.product,
        "branch": row.branch,
        "currency": row.currency,
        "principal": row.principal,
        "annual_rate": row.annual_rate,
        "disbursed_on": row.disbursed_on,
        "purpose": row.purpose,
        "status": row.status,
        "business_date": ledger.as_of,
        "dpd": ledger.dpd,
        "bucket": buckets.bucket_of(ledger.dpd),
        "outstanding": _amounts(outstanding),
        "overdue": _amounts(ledger.overdue()),
        "penalty": outstanding[Component.PENALTY.value],
        "credit_balance": ledger.credit_balance,
        "next_due": {"seq": next_due.seq, "due_date": next_due.due_date, "amount": next_due.open_amount}
        if next_due
        else None,
        "closed_on": row.closed_on,
    }


def _status(inst: InstallmentState, as_of: date) -> str:
    if inst.open_amount == 0:
        return "paid"
    if inst.due_date < as_of:
        return "overdue"
    if inst.due_date == as_of:
        return "due"
    paid = sum((inst.paid[c] for c in _PARTS), ZERO)
    return "partially_paid" if paid > 0 else "not_due"


async def contract_due_dates(session: AsyncSession, loan_id: str) -> dict[int, date]:
    """The contractual due date of each of the loan's installments that falls due on another day."""
    return await store.contract_due_dates(session, loan_id=loan_id)


def schedule_view(ledger: Ledger, contract_dates: dict[int, date] | None = None) -> list[dict[str, Any]]:
    """Each installment with its due date (and contractual one), scheduled, paid and open parts."""
    shifted = contract_dates or {}
    out = []
    for inst in ledger.installments:
        scheduled = {c.value: inst.scheduled[c] for c in _PARTS}
        scheduled[Component.PENALTY.value] = inst.penalty
        out.append(
            {
                "seq": inst.seq,
                "due_date": inst.due_date,
                "contract_due_date": shifted.get(inst.seq, inst.due_date),
                "status": _status(inst, ledger.as_of),
                "scheduled": _amounts(scheduled),
                "paid": _amounts({c.value: inst.paid[c] for c in _PARTS}),
                "open": _amounts({c.value: inst.owed(c) for c in _PARTS}),
                "settled_on": inst.settled_on,
            }
        )
    return out


async def work_list(
    session: AsyncSession,
    *,
    business_date: date,
    status: str | None,
    bucket: str | None,
    min_dpd: int,
    product: str | None,
    branch: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Loans past due by at least `min_dpd` days, most overdue first, paginated by keyset."""
    after: tuple[date, str] | None = None
    if cursor:
        values = decode_cursor(cursor)
        if len(values) != 2 or not isinstance(values[1], str):
            raise BadCursor("cursor is not valid")
        after_due, after_id = values
        try:
            after = (date.fromisoformat(after_due), str(after_id))
        except (TypeError, ValueError) as exc:
            raise BadCursor("cursor is not valid") from exc
    # Past due by at least min_dpd days: the oldest unpaid due date is at most D - min_dpd.
    due_by = date.fromordinal(business_date.toordinal() - min_dpd) if min_dpd > 0 else None
    rows = await store.overdue_loans(
        session,
        business_date=business_date,
        due_by=due_by,
        status=status or "active",
        bucket=bucket,
        product=product,
        branch=branch,
        after=after,
        limit=limit + 1,
    )
    items = [
        {
            "loan_id": r.loan_id,
            "customer_id": r.customer_id,
            "product": r.product,
            "branch": r.branch,
            "status": r.status,
            "dpd": days_past_due(r.oldest_unpaid_due, business_date),
            "bucket": r.bucket,
            "oldest_unpaid_due": r.oldest_unpaid_due,
            "outstanding_principal": r.outstanding_principal,
            "overdue_amount": cents(r.overdue_amount),
        }
        for r in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor([last.oldest_unpaid_due.isoformat(), last.loan_id])
    return items, next_cursor


async def events_of(
    session: AsyncSession, *, loan_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """The loan's events, oldest first, paginated."""
    after: int | None = None
    if cursor:
        values = decode_cursor(cursor)
        # bool is an int to Python, and the id column is a bigint.
        if len(values) != 1 or type(values[0]) is not int or not 0 <= values[0] < 2**63:
            raise BadCursor("cursor is not valid")
        after = values[0]
    rows = await store.event_rows(session, loan_id=loan_id, after=after, limit=limit + 1)
    items = [
        {
            "event_id": str(r.event_id),
            "type": r.event_type,
            "business_date": r.business_date,
            "occurred_at": r.occurred_at.isoformat(),
            "data": r.data,
        }
        for r in rows[:limit]
    ]
    return items, encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None


async def last_closed(session: AsyncSession) -> date | None:
    """The latest closed business date."""
    return await store.last_closed(session)
