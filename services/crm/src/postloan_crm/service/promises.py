"""Promises to pay on a case: made by an agent, kept by payments, broken at close of day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import PromiseBrokenV1, PromiseKeptV1, PromiseToPayMadeV1
from postloan_common.messaging.envelope import new_event_id
from postloan_crm.domain import promises as rules
from postloan_crm.domain.promises import Promise, PromiseStatus
from postloan_crm.service.cases import add_timeline, escalate_case
from postloan_crm.service.events import Trace, emit
from postloan_crm.store.tables import promises


def _domain(row: Any) -> Promise:
    return Promise(
        amount=row["amount"],
        promised_date=row["promised_date"],
        made_on=row["made_on"],
        amount_paid=row["amount_paid"],
        status=PromiseStatus(row["status"]),
        resolved_on=row["resolved_on"],
    )


async def make_promise(
    session: AsyncSession,
    *,
    case: dict[str, Any],
    amount: Decimal,
    promised_date: date,
    made_on: date,
    agent_id: str | None,
    interaction_id: str | None,
    trace: Trace,
) -> dict[str, Any]:
    """Record a promise on an open case and announce it."""
    promise_id = f"PTP-{new_event_id().hex[:20]}"
    row = {
        "promise_id": promise_id,
        "case_id": case["case_id"],
        "loan_id": case["loan_id"],
        "customer_id": case["customer_id"],
        "interaction_id": interaction_id,
        "amount": amount,
        "currency": case["currency"],
        "promised_date": promised_date,
        "made_on": made_on,
        "agent_id": agent_id,
    }
    await session.execute(insert(promises).values(**row))
    await add_timeline(
        session,
        case_id=case["case_id"],
        kind="promise-made",
        details={"promise_id": promise_id, "amount": str(amount), "promised_date": promised_date.isoformat()},
        business_date=made_on,
        actor=agent_id,
    )
    await emit(
        session,
        PromiseToPayMadeV1(
            promise_id=promise_id,
            customer_id=case["customer_id"],
            loan_id=case["loan_id"],
            case_id=case["case_id"],
            interaction_id=interaction_id,
            amount=amount,
            currency=case["currency"],
            promised_date=promised_date,
            agent_id=agent_id,
        ),
        customer_id=case["customer_id"],
        trace=trace,
    )
    return row | {"amount_paid": Decimal("0.00"), "status": "open", "resolved_on": None}


async def on_payment(
    session: AsyncSession, *, loan_id: str, amount: Decimal, value_date: date, reversed_: bool, trace: Trace
) -> list[str]:
    """Count a payment (or its reversal) towards the loan's open promises; return the ids kept now."""
    rows = (
        (
            await session.execute(
                select(promises)
                .where(promises.c.loan_id == loan_id, promises.c.status == "open")
                .order_by(promises.c.promised_date, promises.c.promise_id)
                .with_for_update()
            )
        )
        .mappings()
        .all()
    )
    kept: list[str] = []
    for row in rows:
        before = _domain(row)
        if reversed_:
            after = rules.reverse_payment(before, amount=amount, value_date=value_date)
        else:
            after = rules.apply_payment(before, amount=amount, value_date=value_date)
        if after == before:
            continue
        await _store(session, row["promise_id"], after)
        if after.status is PromiseStatus.KEPT:
            kept.append(row["promise_id"])
            await _announce(session, row, after, trace)
    return kept


async def close_day(session: AsyncSession, *, business_date: date, trace: Trace) -> list[str]:
    """Break the open promises whose date has passed and escalate their cases; return their ids."""
    rows = (
        (
            await session.execute(
                select(promises)
                .where(promises.c.status == "open", promises.c.promised_date <= business_date)
                .order_by(promises.c.promise_id)
                .with_for_update(skip_locked=False)
            )
        )
        .mappings()
        .all()
    )
    broken: list[str] = []
    for row in rows:
        after = rules.close_day(_domain(row), business_date)
        if after.status is not PromiseStatus.BROKEN:
            continue
        await _store(session, row["promise_id"], after)
        broken.append(row["promise_id"])
        await _announce(session, row, after, trace)
        if row["case_id"]:
            await escalate_case(
                session, case_id=row["case_id"], why=f"promise {row['promise_id']} broken", business_date=business_date
            )
    return broken


async def _store(session: AsyncSession, promise_id: str, promise: Promise) -> None:
    await session.execute(
        update(promises)
        .where(promises.c.promise_id == promise_id)
        .values(
            amount_paid=promise.amount_paid,
            status=promise.status.value,
            resolved_on=promise.resolved_on,
            updated_at=func.now(),
        )
    )


async def _announce(session: AsyncSession, row: Any, promise: Promise, trace: Trace) -> None:
    common = {
        "promise_id": row["promise_id"],
        "customer_id": row["customer_id"],
        "loan_id": row["loan_id"],
        "case_id": row["case_id"],
        "amount": row["amount"],
        "amount_paid": promise.amount_paid,
        "currency": row["currency"],
        "promised_date": row["promised_date"],
    }
    if promise.status is PromiseStatus.KEPT:
        assert promise.resolved_on is not None
        data: PromiseKeptV1 | PromiseBrokenV1 = PromiseKeptV1(**common, kept_on=promise.resolved_on)
    else:
        data = PromiseBrokenV1(**common)
    if row["case_id"]:
        await add_timeline(
            session,
            case_id=row["case_id"],
            kind=f"promise-{promise.status.value}",
            details={"promise_id": row["promise_id"], "amount_paid": str(promise.amount_paid)},
            business_date=promise.resolved_on,
        )
    await emit(session, data, customer_id=row["customer_id"], trace=trace)
