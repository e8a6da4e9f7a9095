"""What the simulated core bank believes each loan owes: schedules and a replayed repayment ledger.

The simulator needs this to choose realistic amounts (a full installment, a share of it, the
arrears with their penalty, a payoff). It follows the platform's published conventions (docs/domain.md:
oldest installment first, penalty → fee → interest → principal, overpayment as credit to the
next installments, penalty at contract rate × 1.5 on overdue principal from the day after due;
30/360 monthly schedules). It is a model of the bank, not a copy of repayment-monitor's code:
when both agree, the platform never sees a payment for a loan it has already closed.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from postloan_common.money import quantize_money

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
PENALTY_MULTIPLIER = Decimal("1.5")
_DAYS_PER_YEAR = Decimal(365)
# Allocation order inside one installment.
COMPONENTS = ("penalty", "fee", "interest", "principal")


def cents(value: Decimal) -> Decimal:
    """Round to cents with the platform's one helper (half-up)."""
    return quantize_money(value)


@dataclass(frozen=True, slots=True)
class Due:
    """One scheduled installment."""

    seq: int
    due_date: date
    principal: Decimal
    interest: Decimal
    fee: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.fee


def add_months(start: date, months: int) -> date:
    """Same day `months` later, clamped to the month's last day."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def days_30_360(start: date, end: date) -> int:
    """Days between two dates under the 30/360 (US) convention."""
    d1 = min(start.day, 30)
    d2 = min(end.day, 30) if d1 == 30 else end.day
    return (end.year - start.year) * 360 + (end.month - start.month) * 30 + (d2 - d1)


def monthly_schedule(
    *,
    method: str,
    principal: Decimal,
    annual_rate: Decimal,
    disbursed_on: date,
    first_due_date: date,
    months: int,
    fee: Decimal = ZERO,
) -> list[Due]:
    """A monthly `annuity` or `equal_principal` schedule (30/360, the first period for its real length)."""
    dates = [add_months(first_due_date, k) for k in range(months)]
    monthly = annual_rate / 12
    first_factor = annual_rate * Decimal(days_30_360(disbursed_on, first_due_date)) / 360
    out: list[Due] = []
    balance = principal
    if method == "annuity":
        level = (
            cents(principal / months) if monthly == 0 else cents(principal * monthly / (1 - (1 + monthly) ** -months))
        )
    elif method == "equal_principal":
        level = cents(principal / months)
    else:
        raise ValueError(f"unknown method {method!r}")
    for k, due in enumerate(dates):
        interest = cents(balance * (first_factor if k == 0 else monthly))
        if k == months - 1:
            part = balance
        elif method == "annuity":
            part = max(ZERO, min(balance, level - cents(balance * monthly)))
        else:
            part = level
        out.append(Due(k + 1, due, part, interest, fee))
        balance -= part
    return out


@dataclass(frozen=True, slots=True)
class Payment:
    repayment_id: str
    amount: Decimal
    value_date: date
    order: int


class _Open:
    """One installment during a replay: what was scheduled, what is paid, penalty accrued."""

    __slots__ = ("accrued_through", "due", "paid", "penalty_exact", "scheduled", "settled_on")

    def __init__(self, due: Due) -> None:
        self.due = due
        self.scheduled = {"penalty": ZERO, "fee": due.fee, "interest": due.interest, "principal": due.principal}
        self.paid = dict.fromkeys(COMPONENTS, ZERO)
        self.penalty_exact = ZERO
        self.accrued_through: date | None = None
        self.settled_on: date | None = None

    def owed(self, component: str) -> Decimal:
        if component == "penalty":
            return max(ZERO, cents(self.penalty_exact) - self.paid["penalty"])
        return self.scheduled[component] - self.paid[component]

    @property
    def open_amount(self) -> Decimal:
        """Principal, interest and fee still open (penalty excluded)."""
        paid, scheduled = self.paid, self.scheduled
        return (
            scheduled["principal"]
            + scheduled["interest"]
            + scheduled["fee"]
            - paid["principal"]
            - paid["interest"]
            - paid["fee"]
        )

    def accrue(self, through: date, penalty_rate: Decimal) -> None:
        start = self.due.due_date
        if self.accrued_through is not None and self.accrued_through > start:
            start = self.accrued_through
        days = (through - start).days
        if days <= 0:
            return
        open_principal = self.scheduled["principal"] - self.paid["principal"]
        if open_principal:
            self.penalty_exact += open_principal * penalty_rate * days / _DAYS_PER_YEAR
        self.accrued_through = through


@dataclass(frozen=True)
class Position:
    """A loan's replayed state as of a day."""

    installments: tuple[_Open, ...]
    as_of: date

    def owed_through(self, due_date: date) -> Decimal:
        """Everything open (penalty included) of the installments due on or before `due_date`."""
        return sum(
            (sum((i.owed(c) for c in COMPONENTS), ZERO) for i in self.installments if i.due.due_date <= due_date),
            ZERO,
        )

    def outstanding(self) -> dict[str, Decimal]:
        """Open amounts by component (penalty accrued through as_of)."""
        return {c: sum((i.owed(c) for i in self.installments), ZERO) for c in COMPONENTS}

    @property
    def total_outstanding(self) -> Decimal:
        return sum(self.outstanding().values(), ZERO)

    @property
    def paid_off(self) -> bool:
        return all(i.open_amount == 0 and i.owed("penalty") == 0 for i in self.installments)

    def dpd_on(self, day: date) -> int:
        """Days past due on `day`: from the oldest installment due before it and not settled on it."""
        late = [
            i.due.due_date
            for i in self.installments
            if i.due.due_date < day and (i.settled_on is None or i.settled_on > day)
        ]
        return (day - min(late)).days if late else 0

    def max_dpd(self, first: date, last: date) -> int:
        """The highest DPD on any day in [first, last] (each installment is worst on its last unpaid day)."""
        worst = 0
        for inst in self.installments:
            due = inst.due.due_date
            last_unpaid = last if inst.settled_on is None else min(last, inst.settled_on - timedelta(days=1))
            if last_unpaid >= first and last_unpaid > due:
                worst = max(worst, (last_unpaid - due).days)
        return worst

    def first_day_at(self, dpd: int, first: date, last: date) -> date | None:
        """The first day in [first, last] on which the loan was `dpd` or more days past due, if any."""
        found = []
        for inst in self.installments:
            day = max(inst.due.due_date + timedelta(days=dpd), first)
            if day <= last and (inst.settled_on is None or inst.settled_on > day):
                found.append(day)
        return min(found, default=None)


def replay(schedule: Sequence[Due], payments: Iterable[Payment], *, penalty_rate: Decimal, as_of: date) -> Position:
    """Replay the payments (value-date order) over the schedule and accrue penalty through `as_of`."""
    opened = [_Open(d) for d in sorted(schedule, key=lambda d: (d.due_date, d.seq))]
    for payment in sorted(payments, key=lambda p: (p.value_date, p.order)):
        if payment.value_date > as_of:
            raise ValueError(f"payment {payment.repayment_id} is valued after {as_of}")
        for inst in opened:
            inst.accrue(payment.value_date, penalty_rate)
        _allocate(opened, payment)
    for inst in opened:
        inst.accrue(as_of, penalty_rate)
    return Position(tuple(opened), as_of)


def _allocate(opened: Sequence[_Open], payment: Payment) -> None:
    remaining = payment.amount
    due = [i for i in opened if i.due.due_date <= payment.value_date]
    future = [i for i in opened if i.due.due_date > payment.value_date]
    for inst in (*due, *future):
        if not remaining:
            break
        touched = False
        for component in COMPONENTS:
            amount = min(remaining, inst.owed(component))
            if amount > 0:
                inst.paid[component] += amount
                remaining -= amount
                touched = True
        # Only an installment this payment reached can become settled by it.
        if touched and inst.settled_on is None and inst.open_amount == 0:
            inst.settled_on = payment.value_date
    # What is left is a credit balance; it settles nothing.


def apply_on(position: Position, payment: Payment) -> Position:
    """`position` (as of the payment's value date, which is after every earlier payment's) plus `payment`.

    The same as a replay from scratch in that case, and much cheaper; `position` is consumed.
    """
    if payment.value_date != position.as_of:
        raise ValueError("apply_on needs a position as of the payment's value date")
    _allocate(position.installments, payment)
    return position
