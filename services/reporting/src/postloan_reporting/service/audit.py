"""Who changed what: one audit row per state-changing request."""

from __future__ import annotations

from postloan_common.audit import audit_recorder
from postloan_reporting.store.tables import audit_log

__all__ = ["record"]

record = audit_recorder(audit_log)
