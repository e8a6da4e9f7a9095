"""Schedule generation from terms: annuity, equal principal, interest-only with bullet; monthly.

Day count: 30/360. Every regular monthly period earns rate / 12; the first period, from the
disbursement date to the first due date, earns rate × days30/360 (so a short or long first
period is charged for its real length). Rounding to cents is half-up per installment and the
last installment takes the rounding remainder of principal, so principal sums exactly.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from postloan_repayment_monitor.domain.money import ZERO, cents


@dataclass(frozen=True)
class ScheduledInstallment:
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
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def days_30_360(start: date, end: date) -> int:
    """Days between two dates under the 30/360 (US) convention."""
    d1 = min(start.day, 30)
    d2 = min(end.day, 30) if d1 == 30 else end.day
    return (end.year - start.year) * 360 + (end.month - start.month) * 30 + (d2 - d1)


def due_dates(first_due_date: date, months: int) -> list[date]:
    """Monthly due dates anchored on the first due date's day of month."""
    return [add_months(first_due_date, k) for k in range(months)]


def generate(
    *, method: str, principal: Decimal, annual_rate: Decimal, disbursed_on: date, first_due_date: date, months: int
) -> list[ScheduledInstallment]:
    """Generate a monthly schedule; `method` is annuity, equal_principal or interest_only."""
    if months < 1:
        raise ValueError("months must be ≥ 1")
    if first_due_date <= disbursed_on:
        raise ValueError("first_due_date must be after disbursed_on")
    if principal <= 0:
        raise ValueError("principal must be > 0")
    dates = due_dates(first_due_date, months)
    monthly = annual_rate / 12
    first_factor = annual_rate * Decimal(days_30_360(disbursed_on, first_due_date)) / 360

    def period_interest(k: int, balance: Decimal) -> Decimal:
        return cents(balance * (first_factor if k == 0 else monthly))

    out: list[ScheduledInstallment] = []
    balance = principal
    if method == "annuity":
        payment = (
            cents(principal / months) if monthly == 0 else cents(principal * monthly / (1 - (1 + monthly) ** -months))
        )
        for k, due in enumerate(dates):
            interest = period_interest(k, balance)
            # A long first period can owe more interest than the level payment; principal is never negative.
            part = balance if k == months - 1 else max(ZERO, min(balance, payment - cents(balance * monthly)))
            out.append(ScheduledInstallment(k + 1, due, part, interest))
            balance -= part
    elif method == "equal_principal":
        part = cents(principal / months)
        for k, due in enumerate(dates):
            this = balance if k == months - 1 else part
            out.append(ScheduledInstallment(k + 1, due, this, period_interest(k, balance)))
            balance -= this
    elif method == "interest_only":
        for k, due in enumerate(dates):
            this = balance if k == months - 1 else ZERO
            out.append(ScheduledInstallment(k + 1, due, this, period_interest(k, balance)))
            balance -= this
    else:
        raise ValueError(f"unknown repayment method {method!r}")
    return out
