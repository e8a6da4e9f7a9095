"""A loan's ledger, replayed from its schedule and repayments: allocation, penalty, DPD.

The ledger is always rebuilt from scratch for one loan, in value-date order, so a back-valued
payment or a reversal gives exactly the state as if the payment had been made on its value
date, or never made at all.

Conventions:
- A payment with value date v pays penalty accrued through v inclusive; principal it pays stops
  accruing penalty from v + 1.
- Penalty accrues daily on an installment's open principal on each day after due date + grace:
  open principal × annual penalty rate / 365, kept unrounded and shown rounded to cents.
- An installment is settled when its principal, interest and fee are paid; DPD counts from the
  oldest unsettled installment (open penalty alone does not make a loan past due).
- A restructuring on day r replaces every installment not fully paid (penalty included) after the
  payments that precede it: those valued before r, and those valued on r and posted before it. The
  replaced installments keep what they were paid; their open penalty, accrued through r, ends
  with them. The new installments accrue penalty at the restructuring's rate. DPD before r still
  counts the replaced installments; from r on only the installments that stay and the new ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from postloan_repayment_monitor.domain.delinquency import days_past_due
from postloan_repayment_monitor.domain.money import ZERO, cents
from postloan_repayment_monitor.domain.rules import BucketScheme, Component, Overpayment, ProductRules, Waterfall

CREDIT = "credit"
_COMPONENTS = tuple(Component)
_DAYS_PER_YEAR = Decimal(365)


@dataclass(frozen=True)
class Scheduled:
    seq: int
    due_date: date
    principal: Decimal
    interest: Decimal
    fee: Decimal = ZERO


@dataclass(frozen=True)
class Payment:
    repayment_id: str
    amount: Decimal
    value_date: date
    # Posting order breaks ties between payments with the same value date.
    order: int = 0


@dataclass(frozen=True)
class AllocationLine:
    repayment_id: str
    seq: int | None  # None for a credit balance
    component: str  # a Component value or "credit"
    amount: Decimal


@dataclass(slots=True)
class InstallmentState:
    seq: int
    due_date: date
    scheduled: dict[Component, Decimal]
    paid: dict[Component, Decimal] = field(default_factory=lambda: dict.fromkeys(_COMPONENTS, ZERO))
    # Principal + interest + fee still open; kept in step by pay() because replays ask for it constantly.
    open_pif: Decimal = ZERO
    penalty_exact: Decimal = ZERO
    # cents(penalty_exact), kept in step by _accrue: rounding is the hot spot of a replay.
    penalty: Decimal = ZERO
    accrued_through: date | None = None
    settled_on: date | None = None

    def owed(self, component: Component) -> Decimal:
        """What is still open of `component` (penalty: accrued so far, rounded, less paid)."""
        if component is Component.PENALTY:
            owed = self.penalty - self.paid[component]
            return owed if owed > 0 else ZERO
        return self.scheduled[component] - self.paid[component]

    @property
    def open_principal(self) -> Decimal:
        return self.scheduled[Component.PRINCIPAL] - self.paid[Component.PRINCIPAL]

    @property
    def open_amount(self) -> Decimal:
        """Principal, interest and fee still open (penalty excluded)."""
        return self.open_pif

    @property
    def is_clear(self) -> bool:
        """Nothing open, penalty included."""
        return self.open_pif == 0 and self.penalty <= self.paid[Component.PENALTY]

    def pay(self, component: Component, amount: Decimal) -> None:
        """Record `amount` paid on `component`."""
        self.paid[component] += amount
        if component is not Component.PENALTY:
            self.open_pif -= amount

    def unpaid_on(self, day: date) -> bool:
        return self.settled_on is None or self.settled_on > day


@dataclass(frozen=True)
class Restructuring:
    """Core banking replaced the loan's open installments by `installments` on `restructured_on`."""

    restructure_id: str
    restructured_on: date
    installments: tuple[Scheduled, ...]
    outstanding_principal: Decimal
    # Annual contract and penalty rates of the new installments.
    annual_rate: Decimal
    penalty_rate: Decimal
    # Payments valued on restructured_on and posted up to this order precede the restructuring.
    after_order: int = 0

    def precedes(self, payment: Payment) -> bool:
        """True when `payment` is applied after this restructuring."""
        return (self.restructured_on, self.after_order) < (payment.value_date, payment.order)


class RestructuringMismatch(ValueError):
    """A restructuring's principal is not what the installments it replaces had open."""


@dataclass(frozen=True)
class RestructuringEffect:
    restructure_id: str
    restructured_on: date
    # DPD on restructured_on under the schedule it replaced.
    dpd_before: int
    # The replaced installments as they stood when replaced (penalty accrued through restructured_on).
    replaced: tuple[InstallmentState, ...]


@dataclass
class Ledger:
    installments: list[InstallmentState]
    allocations: dict[str, list[AllocationLine]]
    credit_balance: Decimal
    as_of: date
    penalty_rate: Decimal
    grace_days: int
    restructured: dict[str, RestructuringEffect] = field(default_factory=dict)

    @property
    def oldest_unpaid_due(self) -> date | None:
        """Due date of the oldest installment not settled (due or not)."""
        open_dates = [i.due_date for i in self.installments if i.open_amount > 0]
        return min(open_dates) if open_dates else None

    def dpd_on(self, day: date) -> int:
        """Days past due on `day`, from the settlement dates of this replay."""
        late = [i.due_date for i in self.installments if i.due_date < day and i.unpaid_on(day)]
        for effect in self.restructured.values():
            if day < effect.restructured_on:
                late.extend(i.due_date for i in effect.replaced if i.due_date < day and i.unpaid_on(day))
        return days_past_due(min(late), day) if late else 0

    @property
    def dpd(self) -> int:
        return self.dpd_on(self.as_of)

    def outstanding(self) -> dict[str, Decimal]:
        """Open amounts by component (penalty accrued through as_of)."""
        return {c.value: sum((i.owed(c) for i in self.installments), ZERO) for c in _COMPONENTS}

    def open_principal(self) -> Decimal:
        """Principal not yet repaid."""
        return sum((i.open_principal for i in self.installments), ZERO)

    def balances(self) -> tuple[Decimal, Decimal, Decimal]:
        """(outstanding, overdue, open principal) in one pass; outstanding and overdue include penalty."""
        outstanding = overdue = principal = ZERO
        for inst in self.installments:
            if inst.is_clear:
                continue
            open_total = inst.open_pif + inst.owed(Component.PENALTY)
            outstanding += open_total
            principal += inst.open_principal
            if inst.due_date < self.as_of:
                overdue += open_total
        return outstanding, overdue, principal

    def overdue(self) -> dict[str, Decimal]:
        """Open amounts of installments due before as_of, by component."""
        due = [i for i in self.installments if i.due_date < self.as_of]
        return {c.value: sum((i.owed(c) for i in due), ZERO) for c in _COMPONENTS}

    @property
    def is_paid_off(self) -> bool:
        return all(i.is_clear for i in self.installments)

    def bucket_history(self, scheme: BucketScheme, start: date) -> list[tuple[date, str, int]]:
        """(first day, bucket, dpd on that day) each time the bucket changes from `start` to as_of."""
        history: list[tuple[date, str, int]] = []
        day = start
        while day <= self.as_of:
            dpd = self.dpd_on(day)
            bucket = scheme.bucket_of(dpd)
            if not history or history[-1][1] != bucket:
                history.append((day, bucket, dpd))
            day += timedelta(days=1)
        return history


def replay(
    schedule: Sequence[Scheduled],
    payments: Iterable[Payment],
    *,
    rules: ProductRules,
    contract_rate: Decimal,
    as_of: date,
    restructurings: Sequence[Restructuring] = (),
) -> Ledger:
    """Rebuild a loan's ledger as of `as_of` from its schedule, (non-reversed) payments and restructurings."""
    installments = [_unpaid(s) for s in sorted(schedule, key=lambda s: (s.due_date, s.seq))]
    ledger = Ledger(
        installments=installments,
        allocations={},
        credit_balance=ZERO,
        as_of=as_of,
        penalty_rate=rules.penalty_rate(contract_rate),
        grace_days=rules.grace_days,
    )
    pending = sorted(restructurings, key=lambda r: (r.restructured_on, r.after_order))
    for payment in sorted(payments, key=lambda p: (p.value_date, p.order)):
        if payment.value_date > as_of:
            raise ValueError(f"payment {payment.repayment_id} is valued after {as_of}")
        while pending and pending[0].precedes(payment):
            _restructure(ledger, pending.pop(0))
        _accrue_all(ledger, payment.value_date)
        ledger.allocations[payment.repayment_id] = _allocate(ledger, payment, rules)
    for restructuring in pending:
        if restructuring.restructured_on > as_of:
            raise ValueError(f"restructuring {restructuring.restructure_id} is dated after {as_of}")
        _restructure(ledger, restructuring)
    _accrue_all(ledger, as_of)
    return ledger


def _restructure(ledger: Ledger, restructuring: Restructuring) -> None:
    """Replace every installment not fully paid by the restructuring's new ones."""
    on = restructuring.restructured_on
    _accrue_all(ledger, on)
    dpd_before = ledger.dpd_on(on)
    replaced = [i for i in ledger.installments if not i.is_clear]
    open_principal = sum((i.open_principal for i in replaced), ZERO)
    if open_principal != restructuring.outstanding_principal:
        raise RestructuringMismatch(
            f"outstanding_principal {restructuring.outstanding_principal} does not match the loan's "
            f"open principal {open_principal} on {on}"
        )
    if any(s.due_date <= on for s in restructuring.installments):
        raise ValueError(f"restructuring {restructuring.restructure_id} has installments due on or before {on}")
    if sum((s.principal for s in restructuring.installments), ZERO) != restructuring.outstanding_principal:
        raise ValueError(f"restructuring {restructuring.restructure_id} does not repay its outstanding principal")
    new = [_unpaid(s) for s in restructuring.installments]
    kept = [i for i in ledger.installments if i.is_clear]
    ledger.installments = sorted([*kept, *new], key=lambda i: (i.due_date, i.seq))
    ledger.penalty_rate = restructuring.penalty_rate
    ledger.restructured[restructuring.restructure_id] = RestructuringEffect(
        restructuring.restructure_id, on, dpd_before, tuple(replaced)
    )


def _unpaid(scheduled: Scheduled) -> InstallmentState:
    """A scheduled installment with nothing paid yet (an all-zero one is settled on its due date: never owed)."""
    inst = InstallmentState(
        seq=scheduled.seq,
        due_date=scheduled.due_date,
        scheduled={
            Component.PRINCIPAL: scheduled.principal,
            Component.INTEREST: scheduled.interest,
            Component.FEE: scheduled.fee,
            Component.PENALTY: ZERO,
        },
        open_pif=scheduled.principal + scheduled.interest + scheduled.fee,
    )
    if inst.open_amount == 0:
        inst.settled_on = inst.due_date
    return inst


def fixed_by(payment: Payment, restructurings: Iterable[Restructuring]) -> Restructuring | None:
    """The first restructuring that `payment` precedes: its basis, which later changes cannot alter."""
    return next((r for r in restructurings if not r.precedes(payment)), None)


def _accrue_all(ledger: Ledger, through: date) -> None:
    for inst in ledger.installments:
        _accrue(inst, through, ledger.penalty_rate, ledger.grace_days)


def _accrue(inst: InstallmentState, through: date, annual_rate: Decimal, grace_days: int) -> None:
    """Accrue penalty on open principal for the days after due + grace, up to `through`."""
    if inst.settled_on is not None:
        return  # settled means no open principal: nothing accrues any more
    start = inst.due_date + timedelta(days=grace_days)
    if inst.accrued_through is not None and inst.accrued_through > start:
        start = inst.accrued_through
    days = (through - start).days
    if days <= 0:
        return
    open_principal = inst.open_principal
    if open_principal > 0:
        inst.penalty_exact += open_principal * annual_rate * days / _DAYS_PER_YEAR
        inst.penalty = cents(inst.penalty_exact)
    inst.accrued_through = through


def _allocate(ledger: Ledger, payment: Payment, rules: ProductRules) -> list[AllocationLine]:
    remaining = payment.amount
    lines: list[AllocationLine] = []

    def pay(inst: InstallmentState, component: Component) -> None:
        nonlocal remaining
        if remaining <= 0:
            return
        amount = min(remaining, inst.owed(component))
        if amount <= 0:
            return
        inst.pay(component, amount)
        remaining -= amount
        lines.append(AllocationLine(payment.repayment_id, inst.seq, component.value, amount))

    due = [i for i in ledger.installments if i.due_date <= payment.value_date and not i.is_clear]
    future = [i for i in ledger.installments if i.due_date > payment.value_date and not i.is_clear]
    if rules.waterfall is Waterfall.INSTALLMENT_FIRST:
        for inst in due:
            for component in rules.component_order:
                pay(inst, component)
    else:
        for component in rules.component_order:
            for inst in due:
                pay(inst, component)
    if rules.overpayment is Overpayment.PREPAY:
        for inst in reversed(future):
            pay(inst, Component.PRINCIPAL)
    for inst in future:
        for component in rules.component_order:
            pay(inst, component)
    if remaining > 0:
        ledger.credit_balance += remaining
        lines.append(AllocationLine(payment.repayment_id, None, CREDIT, remaining))
    for inst in due:
        if inst.settled_on is None and inst.open_amount == 0:
            inst.settled_on = payment.value_date
    for inst in future:
        if inst.settled_on is None and inst.open_amount == 0:
            inst.settled_on = payment.value_date
    return _merged(lines)


def _merged(lines: list[AllocationLine]) -> list[AllocationLine]:
    """One line per (installment, component)."""
    merged: dict[tuple[int | None, str], Decimal] = {}
    for line in lines:
        key = (line.seq, line.component)
        merged[key] = merged.get(key, ZERO) + line.amount
    repayment_id = lines[0].repayment_id if lines else ""
    return [AllocationLine(repayment_id, seq, component, amount) for (seq, component), amount in merged.items()]


def allocation_totals(lines: Iterable[AllocationLine]) -> dict[str, Decimal]:
    """Amounts of one payment by component, with credit."""
    totals = {c.value: ZERO for c in Component} | {CREDIT: ZERO}
    for line in lines:
        totals[line.component] += line.amount
    return totals
