"""Loading loans with their schedules and repayments, replaying them, and writing the result back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.db import driver_connection
from postloan_repayment_monitor.domain.delinquency import days_past_due
from postloan_repayment_monitor.domain.incremental import StoredInstallment, stored_ledger
from postloan_repayment_monitor.domain.ledger import AllocationLine, Ledger, Payment, Restructuring, Scheduled, replay
from postloan_repayment_monitor.domain.rules import Component, ProductRules
from postloan_repayment_monitor.service.products import load_rules, loan_rules
from postloan_repayment_monitor.service.restructure_history import add_restructurings


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

    def stored_dpd(self, as_of: date) -> int:
        """DPD on `as_of` from the stored oldest unpaid due date (equal to a replay's)."""
        return days_past_due(self.row.oldest_unpaid_due, as_of)


async def lock_loans(session: AsyncSession, loan_ids: Iterable[str]) -> dict[str, LoanFile]:
    """Lock the loans (in key order, so concurrent batches cannot deadlock) and load their files."""
    return await load_loans(session, loan_ids, lock=True)


# installments.penalty_accrued is numeric(24, 10).
_PENALTY_PLACES = Decimal("1E-10")

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


async def load_loans(session: AsyncSession, loan_ids: Iterable[str], *, lock: bool = False) -> dict[str, LoanFile]:
    """Load the loans with their schedules and posted repayments, optionally locking them."""
    ids = sorted(set(loan_ids))
    if not ids:
        return {}
    # asyncpg directly: these are the hot reads of repayment ingest (12+ rows per loan).
    conn = await driver_connection(session)
    rows = [SimpleNamespace(**r) for r in await conn.fetch(_LOANS + (" FOR UPDATE" if lock else ""), ids)]
    if not rows:
        return {}
    found = [row.loan_id for row in rows]
    schedules: dict[str, list[Scheduled]] = defaultdict(list)
    stored: dict[str, dict[int, tuple[Any, ...]]] = defaultdict(dict)
    for r in await conn.fetch(_INSTALLMENTS, found):
        schedules[r[0]].append(Scheduled(r[1], r[2], r[3], r[4], r[5]))
        stored[r[0]][r[1]] = tuple(r[6:])
    payments: dict[str, list[Payment]] = defaultdict(list)
    for r in await conn.fetch(_REPAYMENTS, found):
        payments[r[0]].append(Payment(r[1], r[2], r[3], r[4]))
    allocated: dict[str, dict[str, set[tuple[int, str, Decimal]]]] = defaultdict(lambda: defaultdict(set))
    for r in await conn.fetch(_ALLOCATIONS, found):
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
                inst.penalty_exact.quantize(_PENALTY_PLACES),
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
    if inst_cols[0]:
        await conn.execute(_UPDATE_INSTALLMENTS, *inst_cols)
    if stale_repayments:
        await conn.execute(_DELETE_ALLOCATIONS, stale_repayments)
    if alloc_cols[0]:
        await conn.execute(_INSERT_ALLOCATIONS, *alloc_cols)
    await conn.execute(_UPDATE_LOANS, *loan_cols)


def _append_row(columns: list[list[Any]], values: tuple[Any, ...]) -> None:
    """Add one row to column-wise arrays (bound as unnest() arrays)."""
    for column, value in zip(columns, values, strict=True):
        column.append(value)
