"""Who changed what: one audit row per state-changing request."""

from __future__ import annotations

from postloan_repayment_monitor.store.audit import PII_READ, record

__all__ = ["PII_READ", "record"]
