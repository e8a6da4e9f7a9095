"""Promises to pay on a case: made by an agent, kept by payments, broken at close of day."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import PromiseBrokenV1, PromiseKeptV1, PromiseToPayMadeV1
from postloan_common.messaging.envelope import new_event_id
from postloan_crm.domain import promises as rules
from postloan_crm.domain.promises import Promise, PromiseStatus
from postloan_crm.domain.strategy import StrategyTable
from postloan_crm.service.cases import CaseBook, add_timeline
from postloan_crm.service.events import Journal, Trace, emit
from postloan_crm.store import promises as promise_rows


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
    promise_id = f"PTP-{new_event_id().hex}"
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
    await promise_rows.insert_promise(session, row)
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


class PromiseBook:
    """The open promises of a run's loans: read once, kept by the rules in event order, written back together."""

    def __init__(self, by_loan: dict[str, list[dict[str, Any]]], journal: Journal) -> None:
        self.by_loan = by_loan
        self.journal = journal
        self.changed: dict[str, tuple[dict[str, Any], Promise]] = {}

    @classmethod
    async def load(cls, session: AsyncSession, loan_ids: Iterable[str], *, journal: Journal) -> PromiseBook:
        """Lock and read the open promises of `loan_ids`, each loan's in the order payments count towards them."""
        ids = sorted(set(loan_ids))
        by_loan: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in await promise_rows.lock_open_promises(session, ids):
            by_loan[row["loan_id"]].append(row)
        return cls(by_loan, journal)

    def on_payment(
        self, *, loan_id: str, amount: Decimal, value_date: date, reversed_: bool, trace: Trace
    ) -> list[str]:
        """Count a payment (or its reversal) towards the loan's open promises; return the ids kept now."""
        kept: list[str] = []
        for row in self.by_loan.get(loan_id, ()):
            before = self._current(row)
            if reversed_:
                after = rules.reverse_payment(before, amount=amount, value_date=value_date)
            else:
                after = rules.apply_payment(before, amount=amount, value_date=value_date)
            if after == before:
                continue
            self.changed[row["promise_id"]] = (row, after)
            if after.status is PromiseStatus.KEPT:
                kept.append(row["promise_id"])
                _announce(self.journal, row, after, trace)
        return kept

    def _current(self, row: dict[str, Any]) -> Promise:
        changed = self.changed.get(row["promise_id"])
        return changed[1] if changed else _domain(row)

    async def write(self, session: AsyncSession) -> None:
        """Write the promises whose state changed."""
        await _store(session, [(row["promise_id"], promise) for row, promise in self.changed.values()])
        self.changed = {}


async def close_day(session: AsyncSession, *, business_date: date, trace: Trace, strategy: StrategyTable) -> list[str]:
    """Break the open promises whose date has passed and escalate their cases; return their ids."""
    rows = await promise_rows.lock_due_promises(session, business_date=business_date)
    outcomes = [(row, rules.close_day(_domain(row), business_date)) for row in rows]
    broken = [(row, after) for row, after in outcomes if after.status is PromiseStatus.BROKEN]
    journal = Journal()
    book = await CaseBook.load(
        session, [row["loan_id"] for row, _ in broken if row["case_id"]], strategy=strategy, journal=journal
    )
    for row, after in broken:
        _announce(journal, row, after, trace)
        if row["case_id"]:
            await book.escalate(
                loan_id=row["loan_id"],
                case_id=row["case_id"],
                why=f"promise {row['promise_id']} broken",
                business_date=business_date,
            )
    await _store(session, [(row["promise_id"], after) for row, after in broken])
    await book.write()
    await journal.write(session)
    return [row["promise_id"] for row, _ in broken]


async def _store(session: AsyncSession, changes: Sequence[tuple[str, Promise]]) -> None:
    if not changes:
        return
    await promise_rows.update_promises(
        session,
        {
            "promise_id": [promise_id for promise_id, _ in changes],
            "amount_paid": [p.amount_paid for _, p in changes],
            "status": [p.status.value for _, p in changes],
            "resolved_on": [p.resolved_on for _, p in changes],
        },
    )


def _announce(journal: Journal, row: Any, promise: Promise, trace: Trace) -> None:
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
        journal.note(
            case_id=row["case_id"],
            kind=f"promise-{promise.status.value}",
            details={"promise_id": row["promise_id"], "amount_paid": str(promise.amount_paid)},
            business_date=promise.resolved_on,
        )
    journal.emit(data, customer_id=row["customer_id"], trace=trace)
