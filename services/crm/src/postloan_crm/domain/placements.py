"""Placing recovery cases with outside collection agencies, and what an agency may do with them."""

from __future__ import annotations

# Only debts past the in-house queues go out: the recovery queue is the last one (domain/strategy.py).
PLACEABLE_QUEUE = "recovery"
ACTIVE = "active"
RECALLED = "recalled"


def placement_refusal(*, case_status: str, case_queue: str, placed_with: str | None, agency_active: bool) -> str | None:
    """Why a case may not be placed with an agency (a problem code), or None when it may."""
    if case_status != "open":
        return "case_closed"
    if case_queue != PLACEABLE_QUEUE:
        return "not_in_recovery_queue"
    if placed_with is not None:
        return "already_placed"
    if not agency_active:
        return "agency_inactive"
    return None


def recall_changes(status: str) -> bool:
    """Whether recalling a placement in `status` changes it (a second recall has no second effect)."""
    return status == ACTIVE


def agency_may_act(*, agency_id: str, placed_with: str | None) -> bool:
    """An agency acts only on a case currently placed with it."""
    return placed_with is not None and placed_with == agency_id
