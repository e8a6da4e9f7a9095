"""Who changed what and who read unmasked personal data: one audit row each."""

from __future__ import annotations

from postloan_common.audit import PII_READ, audit_recorder
from postloan_crm.store.tables import audit_log

__all__ = ["PII_READ", "record"]

record = audit_recorder(audit_log)
