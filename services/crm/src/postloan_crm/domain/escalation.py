"""Case escalation decisions: which queue an open case moves to, and how the move is named."""

from __future__ import annotations

from decimal import Decimal

from postloan_common.contracts.crm import CollectionQueue
from postloan_crm.domain.strategy import rank

# cases.amount_collected is numeric(18, 2): nothing collected reads back as 0.00.
NO_MONEY = Decimal("0.00")


def opens_case(proposed: CollectionQueue | None, *, may_open: bool) -> bool:
    """A loan without a case gets one when the strategy gives it a queue and the caller may open one."""
    return proposed is not None and may_open


def case_queue(*, current: str, proposed: CollectionQueue | None, escalate_only: bool) -> str:
    """The queue of an open case after a new delinquency state: the strategy's, unless that would soften it."""
    if proposed is None:
        return current
    if escalate_only and rank(proposed) <= rank(current):
        return current
    return proposed.value


def move_kind(*, from_queue: str, to_queue: str) -> str:
    """A move to a harder queue is an escalation, any other move a de-escalation."""
    return "escalated" if rank(to_queue) > rank(from_queue) else "de-escalated"


def collected_after(collected: Decimal, amount: Decimal) -> Decimal:
    """Money collected on a case after a payment (negative for a reversal) never goes below zero."""
    return max(collected + amount, NO_MONEY)
