"""Who changed what, and who read unmasked personal data: the audit log every service keeps."""

from __future__ import annotations

from collections.abc import Coroutine
from functools import partial
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, MetaData, String, Table, func, insert, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

PII_READ = "pii.read"


def audit_log_table(metadata: MetaData, *, subject_index: bool = False) -> Table:
    """The `audit_log` table on `metadata`; `subject_index` adds crm's (subject, at) index for per-subject reads."""
    indexes = [Index("ix_audit_log_subject_at", "subject", "at")] if subject_index else []
    return Table(
        "audit_log",
        metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("actor", String(200), nullable=False),
        Column("action", String(64), nullable=False),
        Column("subject", String(200), nullable=False),
        Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("correlation_id", String(100), nullable=True),
        *indexes,
    )


async def record_audit(
    session: AsyncSession,
    table: Table,
    *,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any] | None = None,
    correlation_id: str | None = None,
) -> None:
    """Write one audit row in the caller's transaction (an empty correlation id is stored as NULL)."""
    await session.execute(
        insert(table).values(
            actor=actor, action=action, subject=subject, details=details or {}, correlation_id=correlation_id or None
        )
    )


def audit_recorder(table: Table) -> partial[Coroutine[Any, Any, None]]:
    """`record_audit` bound to one service's `audit_log`, so each service writes `await record(session, ...)`."""
    return partial(record_audit, table=table)
