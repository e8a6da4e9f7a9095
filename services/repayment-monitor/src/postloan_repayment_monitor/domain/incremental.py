"""A repayment posted onto the stored installment state, without replaying the loan's ledger.

When a repayment is valued on or after every earlier one (posted after them on a tie) and after
every restructuring, replay() runs the same steps as it did for the stored state, then accrues
penalty to the new value date, allocates the repayment, settles what it clears and accrues to the
business date. Those last steps need only what the installments table keeps per installment: what
was paid, the penalty accrued (unrounded) and the day it runs through, and the settlement day.
`apply_in_order` runs them on that state; everything else falls back to the replay.

The stored accrual may end on a day at which replay() does not split it (the business date of the
previous posting): accrual is linear in the days, so the two sums differ only in far decimal places
(the column keeps ten), never in a cent. tests/unit/test_incremental.py requires equal states,
allocations and outcomes over random schedules, products, histories, reversals and restructurings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from postloan_repayment_monitor.domain.ledger import (
    AllocationLine,
    InstallmentState,
    Ledger,
    Payment,
    Restructuring,
    Scheduled,
    _accrue_all,
    _allocate,
    allocation_totals,
)
from postloan_repayment_monitor.domain.money import ZERO, cents
from postloan_repayment_monitor.domain.rules import BucketScheme, Component, ProductRules

_P, _I, _F, _N = Component.PRINCIPAL, Component.INTEREST, Component.FEE, Component.PENALTY


@dataclass(frozen=True)
class StoredInstallment:
    """One row of the installments table: the schedule line and its derived state."""

    scheduled: Scheduled
    paid_principal: Decimal = ZERO
    paid_interest: Decimal = ZERO
    paid_fee: Decimal = ZERO
    paid_penalty: Decimal = ZERO
    penalty_accrued: Decimal = ZERO
    penalty_as_of: date | None = None
    settled_on: date | None = None


def stored_ledger(
    installments: Iterable[StoredInstallment],
    *,
    credit_balance: Decimal,
    penalty_rate: Decimal,
    grace_days: int,
    as_of: date,
    allocations: dict[str, list[AllocationLine]] | None = None,
) -> Ledger:
    """The ledger as the installments table and the loan row hold it (the schedule in force only)."""
    states = []
    for row in installments:
        s = row.scheduled
        paid = {_P: row.paid_principal, _I: row.paid_interest, _F: row.paid_fee, _N: row.paid_penalty}
        settled_on = row.settled_on
        open_pif = s.principal + s.interest + s.fee - row.paid_principal - row.paid_interest - row.paid_fee
        if settled_on is None and s.principal + s.interest + s.fee == 0:
            settled_on = s.due_date  # as replay() has it: an all-zero installment is never owed (intake stores none)
        states.append(
            InstallmentState(
                s.seq,
                s.due_date,
                {_P: s.principal, _I: s.interest, _F: s.fee, _N: ZERO},
                paid,
                open_pif,
                row.penalty_accrued,
                cents(row.penalty_accrued) if row.penalty_accrued else ZERO,
                row.penalty_as_of,
                settled_on,
            )
        )
    return Ledger(
        installments=sorted(states, key=lambda i: (i.due_date, i.seq)),
        allocations=dict(allocations or {}),
        credit_balance=credit_balance,
        as_of=as_of,
        penalty_rate=penalty_rate,
        grace_days=grace_days,
    )


def stands_for_replay(ledger: Ledger, *, as_of: date, restructured: bool) -> bool:
    """True when the stored state brought to `as_of` (brought_to) equals a replay as of `as_of`.

    A restructured loan replays instead: its replay keeps the replaced installments (restructured),
    which the installments table does not. So does a state accrued past `as_of` (a read for an earlier day).
    """
    return not restructured and all(
        i.accrued_through is None or i.accrued_through <= as_of for i in ledger.installments
    )


def brought_to(ledger: Ledger, as_of: date) -> Ledger:
    """The stored ledger with penalty accrued to `as_of` as replay() accrues it; `ledger` is left as it was."""
    after = replace(ledger, installments=[i if i.is_clear else _copy(i) for i in ledger.installments], as_of=as_of)
    _accrue_all(after, as_of)
    return after


def applies_in_order(
    ledger: Ledger, payment: Payment, *, earlier: Iterable[Payment], restructurings: Sequence[Restructuring] = ()
) -> bool:
    """True when `payment` comes after every earlier payment and restructuring and after the stored accrual.

    An open installment whose penalty was accrued past the value date would need the accrual of
    those days undone at the old principal: that case (a repayment valued before the previous
    posting's business date) replays instead.
    """
    key = (payment.value_date, payment.order)
    if any((p.value_date, p.order) >= key for p in earlier):
        return False
    if any(not r.precedes(payment) for r in restructurings):
        return False
    return all(
        i.settled_on is not None or i.accrued_through is None or i.accrued_through <= payment.value_date
        for i in ledger.installments
    )


def apply_in_order(ledger: Ledger, payment: Payment, *, rules: ProductRules, as_of: date) -> Ledger:
    """The ledger after `payment` (for which applies_in_order holds), as of `as_of`; `ledger` is left as it was."""
    if payment.value_date > as_of:
        raise ValueError(f"payment {payment.repayment_id} is valued after {as_of}")
    after = replace(
        ledger,
        installments=[i if i.is_clear else _copy(i) for i in ledger.installments],
        allocations=dict(ledger.allocations),
        as_of=as_of,
    )
    _accrue_all(after, payment.value_date)
    after.allocations[payment.repayment_id] = _allocate(after, payment, rules)
    _accrue_all(after, as_of)
    return after


def _copy(inst: InstallmentState) -> InstallmentState:
    """A copy to change; clear installments are shared instead (settled: neither accrued nor allocated to)."""
    return InstallmentState(
        inst.seq,
        inst.due_date,
        inst.scheduled,  # never changed after creation
        dict(inst.paid),
        inst.open_pif,
        inst.penalty_exact,
        inst.penalty,
        inst.accrued_through,
        inst.settled_on,
    )


@dataclass(frozen=True)
class PostingOutcome:
    """What a posting's events and answer are built from: the same for the replay and the incremental path."""

    allocation: dict[str, Decimal]
    lines: tuple[AllocationLine, ...]
    outstanding: Decimal
    overdue: Decimal
    dpd: int
    bucket: str
    paid_off: bool
    # Paid off with installments not yet due: a prepayment rather than the last installment.
    early: bool
    credit_balance: Decimal


def posting_outcome(ledger: Ledger, repayment_id: str, *, buckets: BucketScheme) -> PostingOutcome:
    """The figures of `repayment_id`'s posting from the ledger after it."""
    outstanding, overdue, _principal = ledger.balances()
    dpd = ledger.dpd
    lines = ledger.allocations[repayment_id]
    return PostingOutcome(
        allocation=allocation_totals(lines),
        lines=tuple(lines),
        outstanding=outstanding,
        overdue=overdue,
        dpd=dpd,
        bucket=buckets.bucket_of(dpd),
        paid_off=ledger.is_paid_off,
        early=any(i.due_date > ledger.as_of for i in ledger.installments),
        credit_balance=ledger.credit_balance,
    )
