"""One outbox encoder for every path that writes events without building an `Envelope` per row.

Set-based and COPY paths (close of day, bulk loads) need outbox rows fast; this module builds them
with the same event id rule (UUIDv7), the same envelope JSON shape as `Envelope.to_bytes()` and the
same headers as `outbox.outbox_row`, so consumers cannot tell which path wrote an event.

Two forms: rows built in Python (`OutboxEvent`, `outbox_values`, `copy_records`) for COPY and
executemany, and rows built by PostgreSQL from a query's rows (`outbox_insert_sql`, `event_id_sql`,
`sql_params`) for statements that emit one event per row without bringing the rows to Python.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson

from postloan_common.messaging.envelope import new_event_id

__all__ = [
    "OUTBOX_COPY_COLUMNS",
    "SQL_PARAMS",
    "OutboxEvent",
    "copy_records",
    "encode_envelope",
    "event_id_sql",
    "named_param",
    "new_event_id",
    "outbox_headers",
    "outbox_insert_sql",
    "outbox_values",
    "positional_params",
    "sql_params",
]

# Column order of the tuples `copy_records` yields (asyncpg `copy_records_to_table(columns=...)`).
OUTBOX_COPY_COLUMNS: tuple[str, ...] = ("event_id", "topic", "key", "partition", "event_type", "payload", "headers")


def _default(value: Any) -> Any:
    # Pydantic serialises Decimal as its string form; money must not pass through float.
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=orjson.OPT_UTC_Z)


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


# --- set-based: the same envelope built by PostgreSQL, one event per row of a query -------------

# The parameters a statement of `outbox_insert_sql` binds, in this order for positional styles.
SQL_PARAMS: tuple[str, ...] = (
    "envelope_time",
    "envelope_business_date",
    "envelope_correlation_id",
    "envelope_headers",
    "envelope_id_prefix",
    "envelope_id_base",
)

Param = Callable[[str], str]


def named_param(name: str) -> str:
    """SQLAlchemy `text()` placeholders (`:name`)."""
    return f":{name}"


def positional_params(first: int) -> Param:
    """asyncpg placeholders for SQL_PARAMS bound from `$first` on, in SQL_PARAMS order."""
    at = {name: first + i for i, name in enumerate(SQL_PARAMS)}
    return lambda name: f"${at[name]}"


def sql_params(
    *,
    type: str,
    business_date: date | None,
    correlation_id: str | None,
    version: int = 1,
    now: datetime | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return the values of SQL_PARAMS for one statement: envelope time, business date, correlation, headers, ids.

    Event ids are UUIDv7: this millisecond and 12 random bits, the version and variant nibbles, then a
    random 59-bit base plus the row number: unique within the statement, random across statements,
    and without a strong random draw per row (gen_random_uuid() is UUIDv4 and costs microseconds each).
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    millis = int(moment.timestamp() * 1000)
    headers = outbox_headers(type=type, version=version, correlation_id=correlation_id, extra=extra_headers)
    return {
        # The text encode_envelope writes for the same instant (orjson, UTC as Z).
        "envelope_time": _dumps(moment).decode().strip('"'),
        "envelope_business_date": business_date.isoformat() if business_date is not None else None,
        "envelope_correlation_id": correlation_id,
        "envelope_headers": json.dumps(headers, separators=(",", ":")),
        "envelope_id_prefix": f"{millis:012x}7{secrets.randbits(12):03x}8",
        "envelope_id_base": secrets.randbits(59),
    }


def event_id_sql(param: Param = named_param) -> str:
    """SQL of a fresh UUIDv7 per row of the SELECT it appears in (see `sql_params`)."""
    prefix, base = param("envelope_id_prefix"), param("envelope_id_base")
    return (
        f"CAST(CAST({prefix} AS text) || lpad(to_hex(CAST({base} AS bigint) + row_number() OVER ()), 15, '0') AS uuid)"
    )


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def outbox_insert_sql(
    *,
    rows: str,
    topic: str,
    type: str,
    source: str,
    param: Param = named_param,
    version: int = 1,
    id_column: str | None = None,
) -> str:
    """Return an INSERT of one outbox row per row of `rows` (a table, CTE or subquery).

    `rows` has the columns `subject` (also the Kafka key) and `data` (json or jsonb), and `id_column`
    with the event ids when the caller made them with `event_id_sql` (to write them elsewhere too);
    otherwise each row gets a fresh one. Bind `sql_params(...)` with the placeholders of `param`.
    The payload is built with json_build_object (not jsonb): the key order of `Envelope.to_bytes()`.
    """
    event_id = id_column or event_id_sql(param)
    return f"""INSERT INTO outbox (event_id, topic, key, partition, event_type, payload, headers)
SELECT ev.id, {_literal(topic)}, ev.subject, NULL, {_literal(type)}, convert_to(json_build_object(
    'id', ev.id, 'type', {_literal(type)}, 'version', {int(version)}, 'source', {_literal(source)},
    'subject', ev.subject, 'time', CAST({param("envelope_time")} AS text),
    'business_date', CAST({param("envelope_business_date")} AS text),
    'correlation_id', CAST({param("envelope_correlation_id")} AS text), 'causation_id', NULL,
    'data', ev.data)::text, 'UTF8'), CAST({param("envelope_headers")} AS jsonb)
FROM (SELECT {event_id} AS id, subject, data FROM {rows}) ev"""
