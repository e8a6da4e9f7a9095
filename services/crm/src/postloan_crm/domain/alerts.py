"""Risk alerts in crm: which alerts open a watch case for a relationship manager."""

from __future__ import annotations

from postloan_common.contracts.crm import CollectionQueue

# Severities at or above "high" (docs/domain.md): such an alert on a loan without a case opens a watch case.
WATCH_SEVERITIES = frozenset({"high", "critical"})
WATCH_QUEUE = CollectionQueue.WATCH.value
OPEN_ALERT = "open"


def opens_watch_case(*, severity: str, subject_type: str, has_open_case: bool) -> bool:
    """A high or critical alert on a loan without an open case opens a watch case for a relationship manager."""
    return severity in WATCH_SEVERITIES and subject_type == "loan" and not has_open_case
