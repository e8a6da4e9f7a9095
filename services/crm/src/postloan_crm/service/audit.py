"""Who changed what and who read unmasked personal data: one audit row each."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.store.tables import audit_log

PII_READ = "pii.read"


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
    await session.execute(
        insert(audit_log).values(
            actor=actor, action=action, subject=subject, details=details or {}, correlation_id=correlation_id or None
        )
    )
