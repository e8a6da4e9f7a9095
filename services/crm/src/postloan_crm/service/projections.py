"""Projections of other services' events: loans (repayment.loans) and risk (risk.scores)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import ClassificationChangedV1, LoanRegisteredV1, RiskScoreChangedV1
from postloan_crm.service.customers import care_consented, load_customer
from postloan_crm.store.tables import care_touchpoints, customers, installments_due, loans, risk

MATURITY_NOTICE_DAYS = 30


async def register_loan(session: AsyncSession, *, event: LoanRegisteredV1, as_of: date | None) -> None:
    """Start (or refresh) the projection of a loan."""
    values = {
        "customer_id": event.customer_id,
        "product": event.product,
        "currency": event.currency,
        "principal": event.principal,
        "outstanding": event.principal,
        "next_due_date": event.first_due_date,
        "maturity_date": event.maturity_date,
        "as_of": as_of,
    }
    stmt = pg_insert(loans).values(loan_id=event.loan_id, **values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[loans.c.loan_id],
            set_={k: v for k, v in values.items() if k not in ("outstanding", "next_due_date")}
            | {"updated_at": func.now()},
        )
    )


async def update_loan(session: AsyncSession, *, loan_id: str, customer_id: str, **values: Any) -> None:
    """Write what an event says of the loan's state, creating the row if the loan is new to crm."""
    values = {k: v for k, v in values.items() if v is not None}
    stmt = pg_insert(loans).values(loan_id=loan_id, customer_id=customer_id, **values)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=[loans.c.loan_id], set_=values | {"updated_at": func.now()})
    )


async def apply_to_installments(session: AsyncSession, *, loan_id: str, amount: Decimal, paid_on: date) -> None:
    """Spread a payment over the loan's open installments, oldest first (the default waterfall)."""
    rows = (
        await session.execute(
            select(installments_due.c.seq, installments_due.c.amount_due, installments_due.c.amount_paid)
            .where(installments_due.c.loan_id == loan_id, installments_due.c.paid_on.is_(None))
            .order_by(installments_due.c.due_date, installments_due.c.seq)
            .with_for_update()
        )
    ).all()
    left = amount
    for seq, due, paid in rows:
        if left <= 0:
            break
        take = min(left, due - paid)
        left -= take
        done = paid + take >= due
        await session.execute(
            update(installments_due)
            .where(installments_due.c.loan_id == loan_id, installments_due.c.seq == seq)
            .values(amount_paid=paid + take, paid_on=paid_on if done else None)
        )


async def unapply_from_installments(session: AsyncSession, *, loan_id: str, amount: Decimal) -> None:
    """Take a reversed payment back from the newest installments it may have covered."""
    rows = (
        await session.execute(
            select(installments_due.c.seq, installments_due.c.amount_paid)
            .where(installments_due.c.loan_id == loan_id, installments_due.c.amount_paid > 0)
            .order_by(installments_due.c.due_date.desc(), installments_due.c.seq.desc())
            .with_for_update()
        )
    ).all()
    left = amount
    for seq, paid in rows:
        if left <= 0:
            break
        take = min(left, paid)
        left -= take
        await session.execute(
            update(installments_due)
            .where(installments_due.c.loan_id == loan_id, installments_due.c.seq == seq)
            .values(amount_paid=paid - take, paid_on=None)
        )


async def settle_all_installments(session: AsyncSession, *, loan_id: str, on: date) -> None:
    """A closed loan owes nothing: every installment counts as paid."""
    await session.execute(
        update(installments_due)
        .where(installments_due.c.loan_id == loan_id, installments_due.c.paid_on.is_(None))
        .values(paid_on=on)
    )


async def note_score(session: AsyncSession, *, event: RiskScoreChangedV1) -> None:
    """Keep the latest behavioural score of a loan."""
    values = {
        "customer_id": event.customer_id,
        "score": event.score,
        "pd": event.pd,
        "grade": event.grade,
        "model_version": event.model_version,
        "reason_codes": list(event.reason_codes),
    }
    stmt = pg_insert(risk).values(loan_id=event.loan_id, **values)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=[risk.c.loan_id], set_=values | {"updated_at": func.now()})
    )


async def note_classification(session: AsyncSession, *, event: ClassificationChangedV1) -> None:
    """Keep the latest classification and IFRS 9 stage of a loan."""
    values = {
        "customer_id": event.customer_id,
        "classification": event.to_classification.value,
        "ifrs9_stage": int(event.ifrs9_stage),
        "ecl": event.ecl,
    }
    stmt = pg_insert(risk).values(loan_id=event.loan_id, **values)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=[risk.c.loan_id], set_=values | {"updated_at": func.now()})
    )


async def plan_touchpoint(
    session: AsyncSession, *, customer_id: str, kind: str, due_on: date, loan_id: str | None = None, note: str = ""
) -> None:
    """Plan a care touchpoint once per (customer, kind, day)."""
    stmt = pg_insert(care_touchpoints).values(
        customer_id=customer_id, loan_id=loan_id, kind=kind, due_on=due_on, note=note or None
    )
    await session.execute(stmt.on_conflict_do_nothing(constraint="uq_care_touchpoints_customer_kind_due_on"))


async def plan_care(session: AsyncSession, *, business_date: date) -> None:
    """At close of day: maturity notices for loans maturing within 30 days, birthdays of tomorrow (consented)."""
    horizon = business_date + timedelta(days=MATURITY_NOTICE_DAYS)
    maturing = await session.execute(
        select(loans.c.loan_id, loans.c.customer_id, loans.c.maturity_date).where(
            loans.c.status == "active", loans.c.maturity_date > business_date, loans.c.maturity_date <= horizon
        )
    )
    for loan_id, customer_id, maturity in maturing:
        await plan_touchpoint(
            session, customer_id=customer_id, kind="maturity", due_on=maturity, loan_id=loan_id, note="loan matures"
        )
    tomorrow = business_date + timedelta(days=1)
    born = await session.execute(
        select(customers.c.customer_id).where(
            func.extract("month", customers.c.birth_date) == tomorrow.month,
            func.extract("day", customers.c.birth_date) == tomorrow.day,
        )
    )
    for (customer_id,) in born:
        customer = await load_customer(session, customer_id)
        if customer is not None and care_consented(customer):
            await plan_touchpoint(session, customer_id=customer_id, kind="birthday", due_on=tomorrow)
