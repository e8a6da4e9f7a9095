"""One outbox encoder for every path that writes events without building an `Envelope` per row.

Set-based and COPY paths (close of day, bulk loads) need outbox rows fast; this module builds them
with the same event id rule (UUIDv7), the same envelope JSON shape as `Envelope.to_bytes()` and the
same headers as `outbox.outbox_row`, so consumers cannot tell which path wrote an event.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from postloan_common.messaging.envelope import new_event_id

__all__ = [
    "OUTBOX_COPY_COLUMNS",
    "OutboxEvent",
    "copy_records",
    "encode_envelope",
    "new_event_id",
    "outbox_headers",
    "outbox_values",
]

# Column order of the tuples `copy_records` yields (asyncpg `copy_records_to_table(columns=...)`).
OUTBOX_COPY_COLUMNS: tuple[str, ...] = ("event_id", "topic", "key", "partition", "event_type", "payload", "headers")


def _default(value: Any) -> Any:
    # Pydantic serialises Decimal as its string form; money must not pass through float.
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


try:
    import orjson

    def _dumps(value: Any) -> bytes:
        return orjson.dumps(value, default=_default, option=orjson.OPT_UTC_Z)

except ImportError:  # pragma: no cover - orjson is in the workspace lock; the fallback keeps the kernel importable

    def _dumps(value: Any) -> bytes:
        return json.dumps(value, default=_json_default, separators=(",", ":"), ensure_ascii=False).encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso_time(value)
    if isinstance(value, date | UUID):
        return str(value) if isinstance(value, UUID) else value.isoformat()
    return _default(value)


def _iso_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """What one outbox row says, before encoding; `subject` is also the Kafka key."""

    type: str
    source: str
    subject: str
    data: Mapping[str, Any]
    business_date: date | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    partition: int | None = None
    headers: Mapping[str, str] | None = None
    version: int = 1
    id: UUID = field(default_factory=new_event_id)
    time: datetime = field(default_factory=lambda: datetime.now(UTC))


def encode_envelope(event: OutboxEvent) -> bytes:
    """Return the envelope JSON bytes, in the key order and shape of `Envelope.to_bytes()`."""
    if event.time.tzinfo is None:
        raise ValueError("time must carry a timezone")
    return _dumps(
        {
            "id": event.id,
            "type": event.type,
            "version": event.version,
            "source": event.source,
            "subject": event.subject,
            "time": event.time.astimezone(UTC),
            "business_date": event.business_date,
            "correlation_id": event.correlation_id,
            "causation_id": event.causation_id,
            "data": event.data,
        }
    )


def outbox_headers(
    *, type: str, version: int = 1, correlation_id: str | None = None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return the Kafka headers every event carries (the same as `outbox.outbox_row` writes)."""
    base = {"event-type": type, "event-version": str(version)}
    if correlation_id:
        base["correlation-id"] = correlation_id
    return {**base, **(extra or {})}


def outbox_values(event: OutboxEvent, *, topic: str) -> dict[str, Any]:
    """Return one outbox row as a dict, for SQLAlchemy `insert(outbox)` or asyncpg executemany."""
    return {
        "event_id": event.id,
        "topic": topic,
        "key": event.subject,
        "partition": event.partition,
        "event_type": event.type,
        "payload": encode_envelope(event),
        "headers": outbox_headers(
            type=event.type, version=event.version, correlation_id=event.correlation_id, extra=event.headers
        ),
    }


def copy_records(events: Iterable[OutboxEvent], *, topic: str) -> Iterator[tuple[Any, ...]]:
    """Yield outbox rows as tuples in `OUTBOX_COPY_COLUMNS` order; headers as JSON text for the jsonb column."""
    for event in events:
        row = outbox_values(event, topic=topic)
        yield (
            row["event_id"],
            topic,
            row["key"],
            row["partition"],
            row["event_type"],
            row["payload"],
            json.dumps(row["headers"], separators=(",", ":")),
        )
