"""Collection strategy: which queue a delinquent loan belongs to, by bucket and risk (a configurable table).

the defaults of docs/domain.md: M1 low risk → automated reminders only; M1 high risk and M2 → phone; M3+ → senior /
field (here M3–M4 senior, M5–M6 field); over 180 DPD → recovery (legal, agency).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from postloan_common.contracts.crm import CollectionQueue

# Order of escalation: a queue later in this tuple is a harder treatment; watching is the softest.
QUEUE_ORDER: tuple[CollectionQueue, ...] = (
    CollectionQueue.WATCH,
    CollectionQueue.AUTOMATED,
    CollectionQueue.PHONE,
    CollectionQueue.SENIOR,
    CollectionQueue.FIELD,
    CollectionQueue.RECOVERY,
)
# The NPL classifications (docs/domain.md): crm's one definition of them.
NON_PERFORMING = frozenset({"substandard", "doubtful", "loss"})
# The bucket of a loan with nothing overdue; moving to it means cured, which closes the case.
CURRENT_BUCKET = "M0"
RECOVERY_AFTER_DPD = 180

_DEFAULT_TABLE: dict[str, tuple[CollectionQueue, CollectionQueue]] = {
    # bucket: (queue when low risk, queue when high risk)
    "M1": (CollectionQueue.AUTOMATED, CollectionQueue.PHONE),
    "M2": (CollectionQueue.PHONE, CollectionQueue.PHONE),
    "M3": (CollectionQueue.SENIOR, CollectionQueue.SENIOR),
    "M4": (CollectionQueue.SENIOR, CollectionQueue.SENIOR),
    "M5": (CollectionQueue.FIELD, CollectionQueue.FIELD),
    "M6": (CollectionQueue.FIELD, CollectionQueue.FIELD),
    "M6+": (CollectionQueue.RECOVERY, CollectionQueue.RECOVERY),
}


@dataclass(frozen=True, slots=True)
class RiskView:
    """What the strategy needs of the latest risk assessment of a loan."""

    pd: Decimal | None = None
    classification: str | None = None


@dataclass(frozen=True)
class StrategyTable:
    """Bucket × risk → queue; buckets not in the table (M0) need no case."""

    rows: Mapping[str, tuple[CollectionQueue, CollectionQueue]] = field(default_factory=lambda: dict(_DEFAULT_TABLE))
    high_risk_pd: Decimal = Decimal("0.10")
    recovery_after_dpd: int = RECOVERY_AFTER_DPD

    def is_high_risk(self, risk: RiskView | None) -> bool:
        """High risk: PD at or above the threshold, or a non-performing classification; unknown is low."""
        if risk is None:
            return False
        if risk.classification in NON_PERFORMING:
            return True
        return risk.pd is not None and risk.pd >= self.high_risk_pd

    def queue_for(self, *, bucket: str, dpd: int, risk: RiskView | None) -> CollectionQueue | None:
        """The queue of a loan in `bucket` at `dpd`; None when it needs no collection case."""
        if dpd > self.recovery_after_dpd:
            return CollectionQueue.RECOVERY
        row = self.rows.get(bucket)
        if row is None:
            return None
        return row[1] if self.is_high_risk(risk) else row[0]


def rank(queue: str) -> int:
    """Position of `queue` in the escalation order."""
    return QUEUE_ORDER.index(CollectionQueue(queue))


def escalated(queue: str) -> CollectionQueue:
    """The next harder queue (a broken promise moves the case one step up); recovery stays."""
    index = min(rank(queue) + 1, len(QUEUE_ORDER) - 1)
    return QUEUE_ORDER[index]


def needs_agent(queue: str) -> bool:
    """Whether cases in `queue` are worked by people (automated ones only get reminders)."""
    return queue != CollectionQueue.AUTOMATED


def is_delinquent(bucket: str) -> bool:
    """Whether a loan in `bucket` is overdue (any bucket but the current one)."""
    return bucket != CURRENT_BUCKET
