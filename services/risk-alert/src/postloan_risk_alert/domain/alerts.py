"""The alert lifecycle: open → acknowledged → resolved | dismissed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

import numpy as np
import numpy.typing as npt


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


@dataclass
class AlertBook:
    """Open alerts and the last raising date per (rule, subject), for one subject type."""

    open: dict[tuple[str, str], str] = field(default_factory=dict)
    last_raised: dict[tuple[str, str], date] = field(default_factory=dict)
    # The open alerts of each rule by subject: resolving looks them up rather than scanning every subject.
    by_rule: dict[str, dict[str, str]] = field(default_factory=dict)

    def add_open(self, rule_id: str, subject: str, alert_id: str) -> None:
        """Record an open alert."""
        self.open[(rule_id, subject)] = alert_id
        self.by_rule.setdefault(rule_id, {})[subject] = alert_id

    def pop_open(self, rule_id: str, subject: str) -> str:
        """Forget an open alert; return its id."""
        self.by_rule[rule_id].pop(subject, None)
        return self.open.pop((rule_id, subject))


def resolving(*, holds: npt.NDArray[np.bool_], resolve_holds: npt.NDArray[np.bool_] | None) -> npt.NDArray[np.bool_]:
    """Which subjects' open alerts of a rule resolve today.

    Without a resolve condition, where the rule's condition no longer holds. With one (hysteresis: raise
    at one threshold, resolve at a lower one), only where the condition no longer holds and the resolve
    condition does; in between, the alert stays open instead of resolving and being raised again.
    """
    stopped = ~holds
    return stopped if resolve_holds is None else stopped & resolve_holds
