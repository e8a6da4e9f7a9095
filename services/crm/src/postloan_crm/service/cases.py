"""Collection cases: one open per loan, queued by strategy, assigned with a balanced workload."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, any_, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import CaseClosedV1, CaseOpenedV1
from postloan_common.contracts.crm import CaseCloseReason
from postloan_common.messaging.envelope import new_event_id
from postloan_crm.domain.assignment import AgentLoad, pick_agent
from postloan_crm.domain.strategy import RiskView, StrategyTable, escalated, needs_agent, rank
from postloan_crm.service.events import Trace, emit
from postloan_crm.store.tables import agents, case_events, cases, risk

OPEN, CLOSED = "open", "closed"


@dataclass(frozen=True, slots=True)
class Delinquency:
    """Where a loan stands now, as the last repayment.loans event said."""

    loan_id: str
    customer_id: str
    bucket: str
    dpd: int
    overdue: Decimal
    currency: str


async def add_timeline(
    session: AsyncSession,
    *,
    case_id: str,
    kind: str,
    details: dict[str, Any],
    business_date: date | None = None,
    actor: str | None = None,
) -> None:
    """Append an entry to the case's timeline."""
    await session.execute(
        insert(case_events).values(
            case_id=case_id, kind=kind, details=details, business_date=business_date, actor=actor or "crm"
        )
    )


async def risk_of(session: AsyncSession, loan_id: str) -> RiskView | None:
    """The latest risk view of a loan, or None before risk-alert said anything."""
    row = (await session.execute(select(risk.c.pd, risk.c.classification).where(risk.c.loan_id == loan_id))).first()
    return RiskView(pd=row.pd, classification=row.classification) if row else None


async def open_case(session: AsyncSession, loan_id: str, *, lock: bool = True) -> dict[str, Any] | None:
    """The loan's open case, locked for update by default."""
    query = select(cases).where(cases.c.loan_id == loan_id, cases.c.status == OPEN)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def balanced_assignee(session: AsyncSession, *, queue: str) -> str | None:
    """The active agent of `queue` with room and the fewest open cases (ties by agent id)."""
    load = (
        select(func.count(cases.c.case_id))
        .where(cases.c.assignee == agents.c.agent_id, cases.c.status == OPEN)
        .scalar_subquery()
    )
    # Locking the queue's agents serialises concurrent assignments so the balance holds.
    rows = await session.execute(
        select(agents.c.agent_id, agents.c.capacity, load.label("open_cases"))
        .where(agents.c.active.is_(True), literal(queue) == any_(agents.c.queues))
        .order_by(agents.c.agent_id)
        .with_for_update(of=agents)
    )
    return pick_agent(AgentLoad(r.agent_id, r.open_cases, r.capacity) for r in rows)


async def on_delinquent(
    session: AsyncSession,
    *,
    state: Delinquency,
    strategy: StrategyTable,
    trace: Trace,
    escalate_only: bool,
    may_open: bool = True,
) -> str | None:
    """Open the loan's case or move it to the queue the strategy gives; return the case id."""
    queue = strategy.queue_for(bucket=state.bucket, dpd=state.dpd, risk=await risk_of(session, state.loan_id))
    case = await open_case(session, state.loan_id)
    if case is None:
        if queue is None or not may_open:
            return None
        return await _open(session, state=state, queue=queue.value, trace=trace)
    case_id = str(case["case_id"])
    target = case["queue"]
    if queue is not None and (not escalate_only or rank(queue) > rank(case["queue"])):
        target = queue.value
    await session.execute(
        update(cases)
        .where(cases.c.case_id == case_id)
        .values(bucket=state.bucket, dpd=state.dpd, overdue_amount=state.overdue, updated_at=func.now())
    )
    if target != case["queue"]:
        await move_case(
            session,
            case=case,
            queue=target,
            why=f"bucket {state.bucket}, dpd {state.dpd}",
            business_date=trace.business_date,
        )
    return case_id


async def _open(session: AsyncSession, *, state: Delinquency, queue: str, trace: Trace) -> str:
    case_id = f"CASE-{new_event_id().hex[:20]}"
    assignee = await balanced_assignee(session, queue=queue) if needs_agent(queue) else None
    opened_on = trace.business_date or date.today()  # noqa: DTZ011 - only without a business date
    await session.execute(
        insert(cases).values(
            case_id=case_id,
            loan_id=state.loan_id,
            customer_id=state.customer_id,
            status=OPEN,
            queue=queue,
            bucket=state.bucket,
            dpd=state.dpd,
            overdue_amount=state.overdue,
            currency=state.currency,
            assignee=assignee,
            opened_on=opened_on,
        )
    )
    await add_timeline(
        session,
        case_id=case_id,
        kind="opened",
        details={"queue": queue, "bucket": state.bucket, "dpd": state.dpd, "assignee": assignee},
        business_date=trace.business_date,
    )
    await emit(
        session,
        CaseOpenedV1(
            case_id=case_id,
            customer_id=state.customer_id,
            loan_id=state.loan_id,
            queue=queue,
            bucket=state.bucket,
            dpd=state.dpd,
            overdue_amount=state.overdue,
            currency=state.currency,
            assignee=assignee,
        ),
        customer_id=state.customer_id,
        trace=trace,
    )
    return case_id


async def move_case(
    session: AsyncSession, *, case: dict[str, Any], queue: str, why: str, business_date: date | None
) -> None:
    """Move an open case to another queue and give it to that queue's least loaded agent."""
    assignee = await balanced_assignee(session, queue=queue) if needs_agent(queue) else None
    await session.execute(
        update(cases)
        .where(cases.c.case_id == case["case_id"])
        .values(queue=queue, assignee=assignee, updated_at=func.now())
    )
    kind = "escalated" if rank(queue) > rank(case["queue"]) else "de-escalated"
    await add_timeline(
        session,
        case_id=case["case_id"],
        kind=kind,
        details={"from_queue": case["queue"], "to_queue": queue, "reason": why, "assignee": assignee},
        business_date=business_date,
    )


async def escalate_case(session: AsyncSession, *, case_id: str, why: str, business_date: date | None) -> None:
    """Move an open case one queue up (after a broken promise)."""
    row = (
        (
            await session.execute(
                select(cases).where(cases.c.case_id == case_id, cases.c.status == OPEN).with_for_update()
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return
    target = escalated(row["queue"]).value
    if target != row["queue"]:
        await move_case(session, case=dict(row), queue=target, why=why, business_date=business_date)


async def close_for_loan(
    session: AsyncSession, *, loan_id: str, reason: CaseCloseReason, closed_on: date, trace: Trace
) -> str | None:
    """Close the loan's open case (cured or closed); return its id."""
    case = await open_case(session, loan_id)
    if case is None:
        return None
    await session.execute(
        update(cases)
        .where(cases.c.case_id == case["case_id"])
        .values(status=CLOSED, closed_on=closed_on, close_reason=reason.value, updated_at=func.now())
    )
    await add_timeline(
        session,
        case_id=case["case_id"],
        kind="closed",
        details={"reason": reason.value, "amount_collected": str(case["amount_collected"])},
        business_date=trace.business_date,
    )
    await emit(
        session,
        CaseClosedV1(
            case_id=case["case_id"],
            customer_id=case["customer_id"],
            loan_id=loan_id,
            reason=reason,
            closed_on=closed_on,
            amount_collected=case["amount_collected"],
            currency=case["currency"],
        ),
        customer_id=case["customer_id"],
        trace=trace,
    )
    return str(case["case_id"])


async def add_collected(session: AsyncSession, *, loan_id: str, amount: Decimal) -> None:
    """Count money received while the loan's case is open (negative for a reversal)."""
    await session.execute(
        update(cases)
        .where(and_(cases.c.loan_id == loan_id, cases.c.status == OPEN))
        .values(amount_collected=func.greatest(cases.c.amount_collected + amount, 0), updated_at=func.now())
    )


async def reassign(session: AsyncSession, *, case_id: str, agent_id: str, actor: str) -> dict[str, Any]:
    """A supervisor gives an open case to an agent; raises LookupError/ValueError on bad input."""
    row = (await session.execute(select(cases).where(cases.c.case_id == case_id).with_for_update())).mappings().first()
    if row is None:
        raise LookupError(f"case {case_id} is not known")
    if row["status"] != OPEN:
        raise ValueError(f"case {case_id} is {row['status']}")
    agent = (await session.execute(select(agents).where(agents.c.agent_id == agent_id))).mappings().first()
    if agent is None or not agent["active"]:
        raise LookupError(f"agent {agent_id} is not known or not active")
    await session.execute(
        update(cases).where(cases.c.case_id == case_id).values(assignee=agent_id, updated_at=func.now())
    )
    await add_timeline(
        session,
        case_id=case_id,
        kind="assigned",
        details={"from": row["assignee"], "to": agent_id},
        actor=actor,
    )
    return dict(row) | {"assignee": agent_id}


async def on_risk_changed(session: AsyncSession, *, loan_id: str, strategy: StrategyTable, trace: Trace) -> None:
    """A riskier loan may need a harder queue for its open case (a better score never softens it here)."""
    row = (
        await session.execute(
            select(cases.c.customer_id, cases.c.bucket, cases.c.dpd, cases.c.overdue_amount, cases.c.currency).where(
                cases.c.loan_id == loan_id, cases.c.status == OPEN
            )
        )
    ).first()
    if row is None:
        return
    state = Delinquency(loan_id, row.customer_id, row.bucket, row.dpd, row.overdue_amount, row.currency)
    await on_delinquent(session, state=state, strategy=strategy, trace=trace, escalate_only=True, may_open=False)
