"""Collections performance and reminder effectiveness.

- contact rate = connected attempts ÷ attempts
- right-party contact (RPC) rate = attempts that reached the debtor (connected, party debtor, outcome
  not no_answer / wrong_number) ÷ attempts
- PTP rate = promises made ÷ right-party contacts
- PTP kept rate = promises kept ÷ promises resolved (kept + broken) in the period
- cure rate = cases closed as cured in the period ÷ cases worked (open at the start or opened in it)
- amount collected per case = amount collected on cases closed in the period ÷ those cases
- CEI (variant stated in `CEI_VARIANT`)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from postloan_reporting.domain.ratios import ZERO, money, ratio

RPC_EXCLUDED_OUTCOMES = frozenset({"no_answer", "wrong_number"})
CEI_VARIANT = (
    "CEI = (opening receivable + billed in period − closing total receivable) ÷ "
    "(opening receivable + billed in period − closing current receivable) × 100; receivables are "
    "installment amounts: opening = arrears (overdue amount) at the end of the day before `from`, "
    "billed = installment amounts falling due from `from` to `to`, closing total = arrears at the end "
    "of `to` + closing current, closing current = amounts due on `to` itself, which are billed but not "
    "yet overdue at that close."
)


@dataclass(frozen=True, slots=True)
class Activity:
    """Counts of one group (all, an agent or a queue) over the period."""

    key: str
    attempts: int = 0
    connected: int = 0
    right_party: int = 0
    promises: int = 0
    kept: int = 0
    broken: int = 0
    cases_worked: int = 0
    cases_cured: int = 0
    cases_closed: int = 0
    collected: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Performance:
    key: str
    activity: Activity
    contact_rate: Decimal | None
    right_party_contact_rate: Decimal | None
    ptp_rate: Decimal | None
    ptp_kept_rate: Decimal | None
    cure_rate: Decimal | None
    amount_collected_per_case: Decimal | None


def is_right_party(*, connected: bool, party: str, outcome: str) -> bool:
    """True when an attempt reached the debtor."""
    return connected and party == "debtor" and outcome not in RPC_EXCLUDED_OUTCOMES


def performance(activity: Activity) -> Performance:
    """The rates of one group's activity."""
    per_case = None if not activity.cases_closed else money(activity.collected / activity.cases_closed)
    return Performance(
        key=activity.key,
        activity=activity,
        contact_rate=ratio(activity.connected, activity.attempts),
        right_party_contact_rate=ratio(activity.right_party, activity.attempts),
        ptp_rate=ratio(activity.promises, activity.right_party),
        ptp_kept_rate=ratio(activity.kept, activity.kept + activity.broken),
        cure_rate=ratio(activity.cases_cured, activity.cases_worked),
        amount_collected_per_case=per_case,
    )


@dataclass(frozen=True, slots=True)
class Cei:
    opening_receivable: Decimal
    billed: Decimal
    closing_total_receivable: Decimal
    closing_current_receivable: Decimal
    cei: Decimal | None
    variant: str = CEI_VARIANT


def cei(*, opening: Decimal, billed: Decimal, closing_overdue: Decimal, closing_current: Decimal) -> Cei:
    """The collection effectiveness index in percent (None when nothing was collectible)."""
    closing_total = closing_overdue + closing_current
    collectible = opening + billed - closing_current
    value = ratio((opening + billed - closing_total) * 100, collectible)
    return Cei(money(opening), money(billed), money(closing_total), money(closing_current), value)


@dataclass(frozen=True, slots=True)
class Installment:
    """An installment that has fallen due: was it reminded before its due date, was it paid by then."""

    reminded: bool
    paid_by_due_date: bool


@dataclass(frozen=True, slots=True)
class ReminderEffect:
    reminded: int
    reminded_paid: int
    reminded_rate: Decimal | None
    not_reminded: int
    not_reminded_paid: int
    not_reminded_rate: Decimal | None
    uplift: Decimal | None  # reminded_rate − not_reminded_rate


def reminder_effect(installments: Iterable[Installment]) -> ReminderEffect:
    """Share of installments paid by their due date with and without a reminder."""
    counts = {(r, p): 0 for r in (True, False) for p in (True, False)}
    for item in installments:
        counts[(item.reminded, item.paid_by_due_date)] += 1
    reminded = counts[(True, True)] + counts[(True, False)]
    plain = counts[(False, True)] + counts[(False, False)]
    with_rate = ratio(counts[(True, True)], reminded)
    without_rate = ratio(counts[(False, True)], plain)
    uplift = with_rate - without_rate if with_rate is not None and without_rate is not None else None
    return ReminderEffect(reminded, counts[(True, True)], with_rate, plain, counts[(False, True)], without_rate, uplift)
