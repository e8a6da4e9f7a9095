"""Audit SQL: one audit_log row per state-changing request."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.audit import PII_READ, record_audit
from postloan_repayment_monitor.store.tables import audit_log

__all__ = ["PII_READ", "record"]


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any] | None = None,
    correlation_id: str | None = None,
) -> None:
    """Write an audit row in the caller's transaction."""
    await record_audit(
        session, audit_log, actor=actor, action=action, subject=subject, details=details, correlation_id=correlation_id
    )
