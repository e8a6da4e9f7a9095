"""Loading loans with their schedules and repayments, replaying them, and writing the result back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.db import driver_connection
from postloan_common.money import quantize_money
from postloan_repayment_monitor.domain.delinquency import days_past_due
from postloan_repayment_monitor.domain.incremental import (
    StoredInstallment,
    brought_to,
    stands_for_replay,
    stored_ledger,
)
from postloan_repayment_monitor.domain.ledger import AllocationLine, Ledger, Payment, Restructuring, Scheduled, replay
from postloan_repayment_monitor.domain.rules import Component, ProductRules
from postloan_repayment_monitor.service.products import load_rules, loan_rules
from postloan_repayment_monitor.service.restructure_history import add_restructurings
from postloan_repayment_monitor.store import ledgers as store


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
    # What the database holds now, so persist() writes only what a replay changed.
    stored_installments: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    stored_allocations: dict[str, set[tuple[int, str, Decimal]]] = field(default_factory=dict)
    # With restructurings, `schedule` is the original schedule and `rules` carry its penalty rate.
    restructurings: tuple[Restructuring, ...] = ()
    # The schedule in force (the installments table), which the stored state belongs to.
    in_force: list[Scheduled] = field(default_factory=list)

    @property
    def loan_id(self) -> str:
        return str(self.row.loan_id)

    def replay(self, as_of: date) -> Ledger:
        return replay(
            self.schedule,
            self.payments,
            rules=self.rules,
            contract_rate=self.row.annual_rate,
            as_of=as_of,
            restructurings=self.restructurings,
        )

    def stored(self, as_of: date) -> Ledger:
        """The ledger as stored, for the incremental posting path (domain.incremental)."""
        penalty_rate = (
            self.restructurings[-1].penalty_rate
            if self.restructurings
            else self.rules.penalty_rate(self.row.annual_rate)
        )
        return stored_ledger(
            (StoredInstallment(s, *self.stored_installments[s.seq]) for s in self.in_force),
            credit_balance=self.row.credit_balance,
            penalty_rate=penalty_rate,
            grace_days=self.rules.grace_days,
            as_of=as_of,
            # As stored, so persist() leaves the earlier repayments' allocations alone.
            allocations={
                rid: [
                    AllocationLine(rid, seq if component != "credit" else None, component, amount)
                    for seq, component, amount in lines
                ]
                for rid, lines in self.stored_allocations.items()
            },
        )

    def current(self, as_of: date) -> Ledger | None:
        """The stored state brought to `as_of` (equal to the replay's), or None where only a replay will do."""
        ledger = self.stored(as_of)
        if not stands_for_replay(ledger, as_of=as_of, restructured=bool(self.restructurings)):
            return None
        return brought_to(ledger, as_of)

    def stored_dpd(self, as_of: date) -> int:
        """DPD on `as_of` from the stored oldest unpaid due date (equal to a replay's)."""
        return days_past_due(self.row.oldest_unpaid_due, as_of)


async def lock_loans(session: AsyncSession, loan_ids: Iterable[str]) -> dict[str, LoanFile]:
    """Lock the loans (in key order, so concurrent batches cannot deadlock) and load their files."""
    return await load_loans(session, loan_ids, lock=True)


# installments.penalty_accrued is numeric(24, 10).
_PENALTY_PLACES = 10  # the installments.penalty_exact column's scale


async def load_loans(
    session: AsyncSession, loan_ids: Iterable[str], *, lock: bool = False, history: bool = True
) -> dict[str, LoanFile]:
    """Load the loans with their schedules and (with `history`) posted repayments and allocations."""
    ids = sorted(set(loan_ids))
    if not ids:
        return {}
    conn = await driver_connection(session)
    rows = await store.loan_rows(conn, ids, lock=lock)
    if not rows:
        return {}
    found = [row.loan_id for row in rows]
    schedules: dict[str, list[Scheduled]] = defaultdict(list)
    stored: dict[str, dict[int, tuple[Any, ...]]] = defaultdict(dict)
    for r in await store.installment_rows(conn, found):
        schedules[r[0]].append(Scheduled(r[1], r[2], r[3], r[4], r[5]))
        stored[r[0]][r[1]] = tuple(r[6:])
    payments: dict[str, list[Payment]] = defaultdict(list)
    allocated: dict[str, dict[str, set[tuple[int, str, Decimal]]]] = defaultdict(lambda: defaultdict(set))
    if history:
        for r in await store.posted_repayment_rows(conn, found):
            payments[r[0]].append(Payment(r[1], r[2], r[3], r[4]))
        for r in await store.allocation_rows(conn, found):
            allocated[r[0]][r[1]].add((r[2], r[3], r[4]))
    products = await load_rules(session, {row.product for row in rows})
    # Loans of one product mostly share their contract terms: one rules object per distinct triple.
    rules: dict[tuple[str, Decimal, int], ProductRules] = {}
    for row in rows:
        key = (row.product, row.penalty_rate, row.grace_days)
        if key not in rules:
            rules[key] = loan_rules(products[row.product], penalty_rate=row.penalty_rate, grace_days=row.grace_days)
    files = {
        row.loan_id: LoanFile(
            row=row,
            rules=rules[(row.product, row.penalty_rate, row.grace_days)],
            schedule=sorted(schedules[row.loan_id], key=lambda s: s.seq),
            payments=payments[row.loan_id],
            bucket=row.bucket,
            status=row.status,
            closed_on=row.closed_on,
            stored_installments=stored[row.loan_id],
            stored_allocations=dict(allocated[row.loan_id]),
            in_force=sorted(schedules[row.loan_id], key=lambda s: s.seq),
        )
        for row in rows
    }
    await add_restructurings(conn, files)
    return files


def totals(ledger: Ledger) -> tuple[Decimal, Decimal]:
    """(outstanding, overdue) including penalty."""
    outstanding, overdue, _principal = ledger.balances()
    return outstanding, overdue


async def persist(session: AsyncSession, files: Iterable[LoanFile], ledgers: dict[str, Ledger]) -> None:
    """Write what the replays changed: installments, allocations and loan summaries, one statement each."""
    files = [f for f in files if f.loan_id in ledgers]
    if not files:
        return
    inst_cols: list[list[Any]] = [[] for _ in range(9)]
    alloc_cols: list[list[Any]] = [[] for _ in range(5)]
    stale_repayments: list[str] = []
    loan_cols: list[list[Any]] = [[] for _ in range(7)]
    for file in files:
        ledger = ledgers[file.loan_id]
        for inst in ledger.installments:
            state = (
                inst.paid[Component.PRINCIPAL],
                inst.paid[Component.INTEREST],
                inst.paid[Component.FEE],
                inst.paid[Component.PENALTY],
                quantize_money(inst.penalty_exact, _PENALTY_PLACES),
                inst.accrued_through,
                inst.settled_on,
            )
            if file.stored_installments.get(inst.seq) == state:
                continue
            _append_row(inst_cols, (file.loan_id, inst.seq, *state))
        for repayment_id, lines in ledger.allocations.items():
            wanted = {(line.seq or 0, line.component, line.amount) for line in lines}
            stored = file.stored_allocations.get(repayment_id)
            if stored == wanted:
                continue
            if stored is not None:
                stale_repayments.append(repayment_id)
            for seq, component, amount in wanted:
                _append_row(alloc_cols, (repayment_id, file.loan_id, seq, component, amount))
        # Allocations of repayments that no longer allocate (reversed) go too.
        stale_repayments.extend(r for r in file.stored_allocations if r not in ledger.allocations)
        _append_row(
            loan_cols,
            (
                file.loan_id,
                ledger.oldest_unpaid_due,
                file.bucket,
                ledger.open_principal(),
                ledger.credit_balance,
                file.status,
                file.closed_on,
            ),
        )
    conn = await driver_connection(session)
    await store.write_replays(
        conn, installments=inst_cols, stale_repayments=stale_repayments, allocations=alloc_cols, loans=loan_cols
    )


def _append_row(columns: list[list[Any]], values: tuple[Any, ...]) -> None:
    """Add one row to column-wise arrays (bound as unnest() arrays)."""
    for column, value in zip(columns, values, strict=True):
        column.append(value)
