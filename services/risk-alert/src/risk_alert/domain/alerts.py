"""The alert lifecycle: open → acknowledged → resolved | dismissed."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class AlertAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    DISMISS = "dismiss"
    ASSIGN = "assign"


ACTIVE = frozenset({AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED})

# The status each action leads to from each status it is allowed in; assign keeps the status.
TRANSITIONS: dict[AlertAction, dict[AlertStatus, AlertStatus]] = {
    AlertAction.ACKNOWLEDGE: {AlertStatus.OPEN: AlertStatus.ACKNOWLEDGED},
    AlertAction.RESOLVE: {AlertStatus.OPEN: AlertStatus.RESOLVED, AlertStatus.ACKNOWLEDGED: AlertStatus.RESOLVED},
    AlertAction.DISMISS: {AlertStatus.OPEN: AlertStatus.DISMISSED, AlertStatus.ACKNOWLEDGED: AlertStatus.DISMISSED},
    AlertAction.ASSIGN: {AlertStatus.OPEN: AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED: AlertStatus.ACKNOWLEDGED},
}


class TransitionError(ValueError):
    """The action is not allowed in the alert's current status."""


def next_status(current: AlertStatus | str, action: AlertAction | str) -> AlertStatus:
    """The status after `action`; raises TransitionError when it is not allowed."""
    status, act = AlertStatus(current), AlertAction(action)
    allowed = TRANSITIONS[act]
    if status not in allowed:
        raise TransitionError(f"cannot {act.value} an alert that is {status.value}")
    return allowed[status]


def within_window(last_raised: date | None, today: date, window_days: int) -> bool:
    """Whether an alert raised on `last_raised` still suppresses a new one for the same rule and subject."""
    return last_raised is not None and today < last_raised + timedelta(days=max(window_days, 0))
