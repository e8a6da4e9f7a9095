"""Who changed what, and who read unmasked personal data: the audit log every service keeps."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import partial
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, MetaData, String, Table, func, insert, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

PII_READ = "pii.read"

Masker = Callable[[Any], Any]


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


def changes(
    old: Mapping[str, Any] | None, new: Mapping[str, Any], *, masked: Mapping[str, Masker] | None = None
) -> dict[str, dict[str, Any]]:
    """The fields whose value differs, each `{old, new}` in JSON form; `masked` fields pass through their masker.

    A field missing from `old` (or no `old` at all, a create) counts as None. Values are compared
    before masking, so a change hidden by the mask is still recorded, masked on both sides.
    """
    before = old or {}
    maskers = masked or {}
    diff: dict[str, dict[str, Any]] = {}
    for field in sorted(set(before) | set(new)):
        was, now = _plain(before.get(field)), _plain(new.get(field))
        if was == now:
            continue
        mask = maskers.get(field)
        if mask is not None:
            was, now = _masked(mask, before.get(field)), _masked(mask, new.get(field))
        diff[field] = {"old": was, "new": now}
    return diff


def _masked(mask: Masker, value: Any) -> Any:
    return None if value is None else _plain(mask(value))


def _plain(value: Any) -> Any:
    """A JSONB-storable copy: Decimals and dates as strings, enums by value, models and tuples plain."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return _plain(value.value)
    if hasattr(value, "model_dump") and not isinstance(value, type):  # a pydantic model
        return _plain(value.model_dump(mode="json"))
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    return value
