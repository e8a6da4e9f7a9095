"""Loading loans with their schedules and repayments, replaying them, and writing the result back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from repayment_monitor.domain.ledger import Ledger, Payment, Scheduled, replay
from repayment_monitor.domain.money import ZERO
from repayment_monitor.domain.rules import Component, ProductRules
from repayment_monitor.service.products import load_rules, loan_rules
from repayment_monitor.store.tables import allocations, installments, loans, repayments


@dataclass
class LoanFile:
    """One loan locked for update, with everything needed to replay it."""

    row: Any
    rules: ProductRules
    schedule: list[Scheduled]
    payments: list[Payment] = field(default_factory=list)
    # Mutable copies of the derived columns; written back by persist().
    bucket: str = "M0"
    status: str = "active"
    closed_on: date | None = None

    @property
    def loan_id(self) -> str:
        return str(self.row.loan_id)

    def replay(self, as_of: date) -> Ledger:
        return replay(self.schedule, self.payments, rules=self.rules, contract_rate=self.row.annual_rate, as_of=as_of)


async def lock_loans(session: AsyncSession, loan_ids: Iterable[str]) -> dict[str, LoanFile]:
    """Lock the loans (in key order, so concurrent batches cannot deadlock) and load their files."""
    return await load_loans(session, loan_ids, lock=True)


async def load_loans(session: AsyncSession, loan_ids: Iterable[str], *, lock: bool = False) -> dict[str, LoanFile]:
    """Load the loans with their schedules and posted repayments, optionally locking them."""
    ids = sorted(set(loan_ids))
    if not ids:
        return {}
    query = select(loans).where(loans.c.loan_id.in_(ids)).order_by(loans.c.loan_id)
    rows = (await session.execute(query.with_for_update() if lock else query)).all()
    if not rows:
        return {}
    found = [row.loan_id for row in rows]
    schedules: dict[str, list[Scheduled]] = defaultdict(list)
    for inst in (
        await session.execute(
            select(
                installments.c.loan_id,
                installments.c.seq,
                installments.c.due_date,
                installments.c.principal,
                installments.c.interest,
                installments.c.fee,
            ).where(installments.c.loan_id.in_(found))
        )
    ).all():
        schedules[inst.loan_id].append(Scheduled(inst.seq, inst.due_date, inst.principal, inst.interest, inst.fee))
    payments: dict[str, list[Payment]] = defaultdict(list)
    for rep in (
        await session.execute(
            select(
                repayments.c.loan_id,
                repayments.c.repayment_id,
                repayments.c.amount,
                repayments.c.value_date,
                repayments.c.posting_seq,
            ).where(repayments.c.loan_id.in_(found), repayments.c.status == "posted")
        )
    ).all():
        payments[rep.loan_id].append(Payment(rep.repayment_id, rep.amount, rep.value_date, rep.posting_seq))
    products = await load_rules(session, {row.product for row in rows})
    return {
        row.loan_id: LoanFile(
            row=row,
            rules=loan_rules(products[row.product], penalty_rate=row.penalty_rate, grace_days=row.grace_days),
            schedule=sorted(schedules[row.loan_id], key=lambda s: s.seq),
            payments=payments[row.loan_id],
            bucket=row.bucket,
            status=row.status,
            closed_on=row.closed_on,
        )
        for row in rows
    }


def totals(ledger: Ledger) -> tuple[Decimal, Decimal]:
    """(outstanding, overdue) including penalty."""
    return sum(ledger.outstanding().values(), ZERO), sum(ledger.overdue().values(), ZERO)


async def persist(session: AsyncSession, files: Iterable[LoanFile], ledgers: dict[str, Ledger]) -> None:
    """Write replayed installments, allocations and loan summaries of the given loans."""
    files = [f for f in files if f.loan_id in ledgers]
    if not files:
        return
    inst_rows: list[dict[str, Any]] = []
    alloc_rows: list[dict[str, Any]] = []
    loan_rows: list[dict[str, Any]] = []
    for file in files:
        ledger = ledgers[file.loan_id]
        for inst in ledger.installments:
            inst_rows.append(
                {
                    "b_loan_id": file.loan_id,
                    "b_seq": inst.seq,
                    "paid_principal": inst.paid[Component.PRINCIPAL],
                    "paid_interest": inst.paid[Component.INTEREST],
                    "paid_fee": inst.paid[Component.FEE],
                    "paid_penalty": inst.paid[Component.PENALTY],
                    "penalty_accrued": inst.penalty_exact,
                    "penalty_as_of": ledger.as_of,
                    "settled_on": inst.settled_on,
                }
            )
        for lines in ledger.allocations.values():
            alloc_rows.extend(
                {
                    "repayment_id": line.repayment_id,
                    "loan_id": file.loan_id,
                    "seq": line.seq or 0,
                    "component": line.component,
                    "amount": line.amount,
                }
                for line in lines
            )
        loan_rows.append(
            {
                "b_loan_id": file.loan_id,
                "oldest_unpaid_due": ledger.oldest_unpaid_due,
                "bucket": file.bucket,
                "outstanding_principal": ledger.outstanding()[Component.PRINCIPAL.value],
                "credit_balance": ledger.credit_balance,
                "status": file.status,
                "closed_on": file.closed_on,
            }
        )
    await session.execute(
        update(installments)
        .where(installments.c.loan_id == bindparam("b_loan_id"), installments.c.seq == bindparam("b_seq"))
        .values(
            paid_principal=bindparam("paid_principal"),
            paid_interest=bindparam("paid_interest"),
            paid_fee=bindparam("paid_fee"),
            paid_penalty=bindparam("paid_penalty"),
            penalty_accrued=bindparam("penalty_accrued"),
            penalty_as_of=bindparam("penalty_as_of"),
            settled_on=bindparam("settled_on"),
        ),
        inst_rows,
        execution_options={"synchronize_session": False},
    )
    await session.execute(delete(allocations).where(allocations.c.loan_id.in_([f.loan_id for f in files])))
    if alloc_rows:
        await session.execute(insert(allocations), alloc_rows)
    await session.execute(
        update(loans)
        .where(loans.c.loan_id == bindparam("b_loan_id"))
        .values(
            oldest_unpaid_due=bindparam("oldest_unpaid_due"),
            bucket=bindparam("bucket"),
            outstanding_principal=bindparam("outstanding_principal"),
            credit_balance=bindparam("credit_balance"),
            status=bindparam("status"),
            closed_on=bindparam("closed_on"),
            updated_at=func.now(),
        ),
        loan_rows,
        execution_options={"synchronize_session": False},
    )
