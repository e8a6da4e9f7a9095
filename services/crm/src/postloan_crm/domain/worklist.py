"""The collector's day: expected recovery as priority, the reasons to call, the order to work the cases in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from postloan_common.money import quantize_money

# Probability that a case in the bucket cures after contact, before risk (docs/domain.md).
CURE_AFTER_CONTACT: dict[str, Decimal] = {
    "M1": Decimal("0.60"),
    "M2": Decimal("0.40"),
    "M3": Decimal("0.25"),
    "M4": Decimal("0.15"),
    "M5": Decimal("0.10"),
    "M6": Decimal("0.05"),
    "M6+": Decimal("0.02"),
}
OTHER_BUCKET = Decimal("0.02")
HIGH_EXPECTED_RECOVERY = Decimal("5000.00")
BROKEN_PROMISE_DAYS = 7
NEW_CASE_DAYS = 1
REASONS = (
    "promise_due_today",
    "callback_due",
    "broken_promise",
    "new_case",
    "high_expected_recovery",
    "risk_alert",
)
# Reasons that put a case before every other whatever its priority: a promise or a callback due now.
DUE_NOW = frozenset({"promise_due_today", "callback_due"})


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the worklist knows of an open case."""

    case_id: str
    bucket: str
    balance_due: Decimal
    pd: Decimal | None
    opened_on: date
    promise_date: date | None  # the earliest open promise's date
    last_broken_on: date | None  # when a promise of the case was last broken
    callback_at: datetime | None  # the latest interaction's next action
    interactions: int
    risk_alert: bool = False


@dataclass(frozen=True, slots=True)
class WorkItem:
    case_id: str
    priority: Decimal
    reasons: tuple[str, ...]
    next_action_at: datetime | None


def cure_probability(*, bucket: str, pd: Decimal | None) -> Decimal:
    """P(cure after contact) = the bucket's cure rate × (1 − PD); an unknown PD counts as 0."""
    base = CURE_AFTER_CONTACT.get(bucket, OTHER_BUCKET)
    risk = pd if pd is not None else Decimal(0)
    return base * (Decimal(1) - min(max(risk, Decimal(0)), Decimal(1)))


def expected_recovery(*, balance_due: Decimal, bucket: str, pd: Decimal | None) -> Decimal:
    """Priority: the balance due × the probability of cure after contact, in money (half-up)."""
    return quantize_money(balance_due * cure_probability(bucket=bucket, pd=pd))


def reasons(facts: CaseFacts, *, priority: Decimal, today: date, now: datetime) -> tuple[str, ...]:
    """Why the case is on today's list, in the order of REASONS."""
    found = {
        "promise_due_today": facts.promise_date is not None and facts.promise_date <= today,
        "callback_due": facts.callback_at is not None and facts.callback_at <= now,
        "broken_promise": facts.last_broken_on is not None
        and facts.last_broken_on >= today - timedelta(days=BROKEN_PROMISE_DAYS),
        "new_case": facts.interactions == 0 and facts.opened_on >= today - timedelta(days=NEW_CASE_DAYS),
        "high_expected_recovery": priority >= HIGH_EXPECTED_RECOVERY,
        "risk_alert": facts.risk_alert,
    }
    return tuple(r for r in REASONS if found[r])


def worklist(cases: Sequence[CaseFacts], *, today: date, now: datetime) -> list[WorkItem]:
    """The cases in the order to work them (work_order)."""
    items = []
    for facts in cases:
        priority = expected_recovery(balance_due=facts.balance_due, bucket=facts.bucket, pd=facts.pd)
        items.append(
            WorkItem(
                facts.case_id, priority, reasons(facts, priority=priority, today=today, now=now), facts.callback_at
            )
        )
    return sorted(items, key=work_order)


def work_order(item: WorkItem) -> tuple[bool, bool, Decimal, str]:
    """Promises and callbacks due now first, then cases with an open risk alert, then by expected recovery."""
    return (not DUE_NOW & set(item.reasons), "risk_alert" not in item.reasons, -item.priority, item.case_id)
