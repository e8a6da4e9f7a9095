"""Collection cases: one open per loan, queued by strategy, assigned with a balanced workload."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import CaseClosedV1, CaseOpenedV1
from postloan_common.contracts.crm import CaseCloseReason
from postloan_common.messaging.envelope import new_event_id
from postloan_crm.domain.alerts import WATCH_QUEUE
from postloan_crm.domain.assignment import AgentLoad, pick_agent
from postloan_crm.domain.escalation import NO_MONEY, case_queue, collected_after, move_kind, opens_case
from postloan_crm.domain.experiments import ArmRole, Experiment, assign_arm, experiment_for
from postloan_crm.domain.strategy import RiskView, StrategyTable, escalated, needs_agent
from postloan_crm.service.events import Journal, Trace
from postloan_crm.service.strategies import current_experiments
from postloan_crm.store import cases as case_rows
from postloan_crm.store.cases import OPEN, add_timeline, open_case

CLOSED = "closed"
# The timeline and open-case reads live in store.cases; callers keep importing them from here.
__all__ = ["CLOSED", "OPEN", "CaseBook", "Delinquency", "add_timeline", "open_case", "reassign"]


@dataclass(frozen=True, slots=True)
class Delinquency:
    """Where a loan stands now, as the last repayment.loans event said."""

    loan_id: str
    customer_id: str
    bucket: str
    dpd: int
    overdue: Decimal
    currency: str


@dataclass
class _Case:
    case_id: str
    loan_id: str
    customer_id: str
    queue: str
    bucket: str
    dpd: int
    overdue_amount: Decimal
    currency: str
    assignee: str | None
    opened_on: date
    amount_collected: Decimal = NO_MONEY
    status: str = OPEN
    closed_on: date | None = None
    close_reason: str | None = None
    experiment: str | None = None
    experiment_version: int | None = None
    arm: str | None = None
    arm_role: str | None = None
    new: bool = False


@dataclass
class _Agent:
    agent_id: str
    capacity: int | None
    queues: tuple[str, ...]
    open_cases: int


class CaseBook:
    """The open cases of a run's loans: read once, changed in event order by the strategy, written back together.

    Every decision is the strategy's (queue, escalation order) and the assignment rule's (least loaded agent);
    the book only keeps the rows in memory between the events of one run.
    """

    def __init__(
        self,
        session: AsyncSession,
        *,
        strategy: StrategyTable,
        journal: Journal,
        open_cases: dict[str, _Case],
        risks: dict[str, RiskView],
        loan_ids: set[str],
    ) -> None:
        self.session = session
        self.strategy = strategy
        self.journal = journal
        self.open = open_cases
        self.risks = risks
        self.loan_ids = loan_ids
        self.touched: dict[str, _Case] = {}
        self.agents: dict[str, _Agent] | None = None
        # The current strategy experiments, read when the run first opens a case.
        self.experiments: list[Experiment] | None = None
        # Changes of agents' open cases made before their loads were read.
        self.load_changes: dict[str, int] = {}

    @classmethod
    async def load(
        cls,
        session: AsyncSession,
        loan_ids: Iterable[str],
        *,
        strategy: StrategyTable,
        journal: Journal,
        with_risk: bool = False,
    ) -> CaseBook:
        """Lock and read the open cases of `loan_ids` (and their latest risk views when decisions need them)."""
        ids = sorted(set(loan_ids))
        open_cases = {r["loan_id"]: _Case(**r) for r in await case_rows.lock_open_cases(session, ids)}
        risks: dict[str, RiskView] = {}
        if with_risk:
            risks = {
                r["loan_id"]: RiskView(pd=r["pd"], classification=r["classification"])
                for r in await case_rows.risk_views(session, ids)
            }
        return cls(session, strategy=strategy, journal=journal, open_cases=open_cases, risks=risks, loan_ids=set(ids))

    def _case(self, loan_id: str) -> _Case | None:
        if loan_id not in self.loan_ids:
            raise KeyError(f"loan {loan_id} was not loaded into this case book")
        return self.open.get(loan_id)

    def _touch(self, case: _Case) -> None:
        self.touched[case.case_id] = case

    def note_risk(self, loan_id: str, **said: Any) -> None:
        """What risk-alert now says of the loan (`pd`, `classification`); the rest stays as it was."""
        self.risks[loan_id] = replace(self.risks.get(loan_id) or RiskView(), **said)

    async def on_delinquent(
        self, state: Delinquency, *, trace: Trace, escalate_only: bool, may_open: bool = True
    ) -> str | None:
        """Open the loan's case or move it to the queue the strategy gives; return the case id."""
        queue = self.strategy.queue_for(bucket=state.bucket, dpd=state.dpd, risk=self.risks.get(state.loan_id))
        case = self._case(state.loan_id)
        if case is None:
            if queue is None or not opens_case(queue, may_open=may_open):
                return None
            return await self._open(state, queue=queue.value, trace=trace)
        target = case_queue(current=case.queue, proposed=queue, escalate_only=escalate_only)
        case.bucket, case.dpd, case.overdue_amount = state.bucket, state.dpd, state.overdue
        self._touch(case)
        if target != case.queue:
            await self._move(
                case, queue=target, why=f"bucket {state.bucket}, dpd {state.dpd}", business_date=trace.business_date
            )
        return case.case_id

    async def on_risk_changed(self, loan_id: str, *, trace: Trace) -> None:
        """A riskier loan may need a harder queue for its open case (a better score never softens it here)."""
        case = self._case(loan_id)
        if case is None:
            return
        state = Delinquency(loan_id, case.customer_id, case.bucket, case.dpd, case.overdue_amount, case.currency)
        await self.on_delinquent(state, trace=trace, escalate_only=True, may_open=False)

    def case_id_of(self, loan_id: str) -> str | None:
        """The id of the loan's open case, if it has one."""
        case = self._case(loan_id)
        return case.case_id if case is not None else None

    async def open_watch(self, state: Delinquency, *, trace: Trace) -> str:
        """Open a watch case for a loan without one, for the least loaded relationship manager."""
        return await self._open(state, queue=WATCH_QUEUE, trace=trace)

    async def escalate(self, *, loan_id: str, case_id: str, why: str, business_date: date | None) -> None:
        """Move the open case `case_id` one queue up (after a broken promise)."""
        case = self._case(loan_id)
        if case is None or case.case_id != case_id:
            return
        target = escalated(case.queue).value
        if target != case.queue:
            await self._move(case, queue=target, why=why, business_date=business_date)

    def close(self, loan_id: str, *, reason: CaseCloseReason, closed_on: date, trace: Trace) -> str | None:
        """Close the loan's open case (cured or closed); return its id."""
        case = self._case(loan_id)
        if case is None:
            return None
        del self.open[loan_id]
        case.status, case.closed_on, case.close_reason = CLOSED, closed_on, reason.value
        self._touch(case)
        self._count(case.assignee, -1)
        self.journal.note(
            case_id=case.case_id,
            kind="closed",
            details={"reason": reason.value, "amount_collected": str(case.amount_collected)},
            business_date=trace.business_date,
        )
        self.journal.emit(
            CaseClosedV1(
                case_id=case.case_id,
                customer_id=case.customer_id,
                loan_id=loan_id,
                reason=reason,
                closed_on=closed_on,
                amount_collected=case.amount_collected,
                currency=case.currency,
                experiment=case.experiment,
                arm=case.arm,
                arm_role=ArmRole(case.arm_role) if case.arm_role else None,
            ),
            customer_id=case.customer_id,
            trace=trace,
        )
        return case.case_id

    def add_collected(self, loan_id: str, amount: Decimal) -> None:
        """Count money received while the loan's case is open (negative for a reversal)."""
        case = self._case(loan_id)
        if case is not None:
            case.amount_collected = collected_after(case.amount_collected, amount)
            self._touch(case)

    async def _open(self, state: Delinquency, *, queue: str, trace: Trace) -> str:
        # The whole UUIDv7: ids made within one millisecond share their first 20 hex digits.
        case_id = f"CASE-{new_event_id().hex}"
        assignee = await self._least_loaded(queue) if needs_agent(queue) else None
        case = _Case(
            case_id=case_id,
            loan_id=state.loan_id,
            customer_id=state.customer_id,
            queue=queue,
            bucket=state.bucket,
            dpd=state.dpd,
            overdue_amount=state.overdue,
            currency=state.currency,
            assignee=assignee,
            opened_on=trace.business_date or date.today(),  # noqa: DTZ011 - only without a business date
            new=True,
            **await self._arm(state.loan_id, queue=queue),
        )
        self.open[state.loan_id] = case
        self._touch(case)
        self._count(assignee, 1)
        self.journal.note(
            case_id=case_id,
            kind="opened",
            details={
                "queue": queue,
                "bucket": state.bucket,
                "dpd": state.dpd,
                "assignee": assignee,
                **({"experiment": case.experiment, "arm": case.arm, "arm_role": case.arm_role} if case.arm else {}),
            },
            business_date=trace.business_date,
        )
        # The event carries the new case's fields as they were just set.
        self.journal.emit(
            CaseOpenedV1.model_validate(case, from_attributes=True), customer_id=case.customer_id, trace=trace
        )
        return case_id

    async def _arm(self, loan_id: str, *, queue: str) -> dict[str, Any]:
        """The experiment fields of a new case of `queue`: its arm by the loan's hash, or none outside one."""
        if self.experiments is None:
            self.experiments = await current_experiments(self.session)
        experiment = experiment_for(self.experiments, queue=queue)
        if experiment is None:
            return {}
        arm = assign_arm(loan_id, salt=experiment.salt, arms=experiment.arms)
        return {
            "experiment": experiment.strategy_id,
            "experiment_version": experiment.version,
            "arm": arm.name,
            "arm_role": arm.role.value,
        }

    async def _move(self, case: _Case, *, queue: str, why: str, business_date: date | None) -> None:
        """Move an open case to another queue and give it to that queue's least loaded agent."""
        assignee = await self._least_loaded(queue) if needs_agent(queue) else None
        self._count(case.assignee, -1)
        self._count(assignee, 1)
        kind = move_kind(from_queue=case.queue, to_queue=queue)
        self.journal.note(
            case_id=case.case_id,
            kind=kind,
            details={"from_queue": case.queue, "to_queue": queue, "reason": why, "assignee": assignee},
            business_date=business_date,
        )
        case.queue, case.assignee = queue, assignee
        self._touch(case)

    async def _least_loaded(self, queue: str) -> str | None:
        """The active agent of `queue` with room and the fewest open cases (ties by agent id)."""
        if self.agents is None:
            self.agents = {
                r["agent_id"]: _Agent(
                    r["agent_id"],
                    r["capacity"],
                    tuple(r["queues"]),
                    r["open_cases"] + self.load_changes.get(r["agent_id"], 0),
                )
                for r in await case_rows.agent_loads(self.session)
            }
        return pick_agent(
            AgentLoad(a.agent_id, a.open_cases, a.capacity) for a in self.agents.values() if queue in a.queues
        )

    def _count(self, agent_id: str | None, change: int) -> None:
        if agent_id is None:
            return
        if self.agents is None:
            self.load_changes[agent_id] = self.load_changes.get(agent_id, 0) + change
        elif agent_id in self.agents:
            self.agents[agent_id].open_cases += change

    async def write(self) -> None:
        """Write the cases changed and opened (the journal, written after, refers to them)."""
        await case_rows.update_cases(self.session, [c for c in self.touched.values() if not c.new])
        opened = [c for c in self.touched.values() if c.new]
        await case_rows.insert_cases(
            self.session,
            [
                {
                    "case_id": c.case_id,
                    "loan_id": c.loan_id,
                    "customer_id": c.customer_id,
                    "status": c.status,
                    "queue": c.queue,
                    "bucket": c.bucket,
                    "dpd": c.dpd,
                    "overdue_amount": c.overdue_amount,
                    "currency": c.currency,
                    "assignee": c.assignee,
                    "opened_on": c.opened_on,
                    "closed_on": c.closed_on,
                    "close_reason": c.close_reason,
                    "amount_collected": c.amount_collected,
                    "experiment": c.experiment,
                    "experiment_version": c.experiment_version,
                    "arm": c.arm,
                    "arm_role": c.arm_role,
                }
                for c in opened
            ],
        )
        self.touched = {}


async def reassign(session: AsyncSession, *, case_id: str, agent_id: str, actor: str) -> dict[str, Any]:
    """A supervisor gives an open case to an agent; raises LookupError/ValueError on bad input."""
    row = await case_rows.lock_case(session, case_id)
    if row is None:
        raise LookupError(f"case {case_id} is not known")
    if row["status"] != OPEN:
        raise ValueError(f"case {case_id} is {row['status']}")
    agent = await case_rows.load_agent(session, agent_id)
    if agent is None or not agent["active"]:
        raise LookupError(f"agent {agent_id} is not known or not active")
    await case_rows.set_assignee(session, case_id=case_id, agent_id=agent_id)
    await add_timeline(
        session,
        case_id=case_id,
        kind="assigned",
        details={"from": row["assignee"], "to": agent_id},
        actor=actor,
    )
    return dict(row) | {"assignee": agent_id}
