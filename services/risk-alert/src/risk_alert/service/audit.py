"""Who changed what: one audit row per state-changing request."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from risk_alert.store.tables import audit_log


async def record(
    session: AsyncSession, *, actor: str, action: str, subject: str, details: dict[str, Any], correlation_id: str | None
) -> None:
    """Write an audit row in the caller's transaction."""
    await session.execute(
        insert(audit_log).values(
            actor=actor, action=action, subject=subject, details=details, correlation_id=correlation_id or None
        )
    )
