"""Audit SQL: one audit_log row per state-changing request."""

from __future__ import annotations

from postloan_common.audit import PII_READ, audit_recorder
from postloan_repayment_monitor.store.tables import audit_log

__all__ = ["PII_READ", "record"]

record = audit_recorder(audit_log)
