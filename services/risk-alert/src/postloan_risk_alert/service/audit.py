"""Who changed what: one audit row per state-changing request."""

from __future__ import annotations

from postloan_common.audit import PII_READ, audit_recorder
from postloan_risk_alert.store.tables import audit_log

__all__ = ["PII_READ", "record"]

record = audit_recorder(audit_log)
