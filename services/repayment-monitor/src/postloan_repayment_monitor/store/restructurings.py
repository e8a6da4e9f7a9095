"""Restructuring SQL: the stored answer of a restructuring, and the rows one writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_repayment_monitor.domain.ledger import Restructuring
from postloan_repayment_monitor.domain.rules import Component
from postloan_repayment_monitor.store.tables import installments, loans, replaced_installments, restructurings


async def earlier_restructuring(session: AsyncSession, *, restructure_id: str) -> tuple[str, dict[str, Any]] | None:
    """The request hash and answer of a restructuring already applied under `restructure_id`, or None."""
    row = (
        await session.execute(
            select(restructurings.c.request_hash, restructurings.c.result).where(
                restructurings.c.restructure_id == restructure_id
            )
        )
    ).first()
    return (row.request_hash, row.result) if row is not None else None


async def write_restructuring(
    session: AsyncSession,
    *,
    loan_id: str,
    restructuring: Restructuring,
    replaced: Sequence[Any],
    reason: str,
    replaced_penalty_rate: Decimal,
    grace_days: int,
    result: dict[str, Any],
    digest: str,
    business_date: date,
    contract_dates: list[date],
) -> None:
    """Record the restructuring, move the replaced installments to their history and insert the new ones."""
    new = restructuring.installments
    await session.execute(
        insert(restructurings).values(
            restructure_id=restructuring.restructure_id,
            loan_id=loan_id,
            restructured_on=restructuring.restructured_on,
            reason=reason,
            outstanding_principal=restructuring.outstanding_principal,
            annual_rate=restructuring.annual_rate,
            penalty_rate=restructuring.penalty_rate,
            # loans.penalty_rate is the rate of the schedule in force, the one being replaced.
            replaced_penalty_rate=replaced_penalty_rate,
            first_seq=new[0].seq,
            installment_count=len(new),
            after_posting_seq=restructuring.after_order,
            posted_on=business_date,
            request_hash=digest,
            result=result,
        )
    )
    await session.execute(
        insert(replaced_installments),
        [
            {
                "loan_id": loan_id,
                "seq": i.seq,
                "restructure_id": restructuring.restructure_id,
                "due_date": i.due_date,
                "principal": i.scheduled[Component.PRINCIPAL],
                "interest": i.scheduled[Component.INTEREST],
                "fee": i.scheduled[Component.FEE],
                "paid_principal": i.paid[Component.PRINCIPAL],
                "paid_interest": i.paid[Component.INTEREST],
                "paid_fee": i.paid[Component.FEE],
                "paid_penalty": i.paid[Component.PENALTY],
                "penalty": i.penalty,
                "settled_on": i.settled_on,
            }
            for i in replaced
        ],
    )
    replaced_seqs = [i.seq for i in replaced]
    await session.execute(
        delete(installments).where(installments.c.loan_id == loan_id, installments.c.seq.in_(replaced_seqs))
    )
    await session.execute(
        insert(installments),
        [
            {
                "loan_id": loan_id,
                "seq": s.seq,
                "due_date": s.due_date,
                "contract_due_date": contract if contract != s.due_date else None,
                "grace_ends_on": s.due_date + timedelta(days=grace_days),
                "principal": s.principal,
                "interest": s.interest,
                "fee": s.fee,
            }
            for s, contract in zip(new, contract_dates, strict=True)
        ],
    )
    await session.execute(
        update(loans)
        .where(loans.c.loan_id == loan_id)
        .values(restructured_on=restructuring.restructured_on, penalty_rate=restructuring.penalty_rate)
    )
