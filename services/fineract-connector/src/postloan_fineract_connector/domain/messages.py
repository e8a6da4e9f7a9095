"""A Fineract Kafka record read into events: the `MessageV1` envelope, its payload, bulk items unwrapped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from postloan_fineract_connector.domain.avro import DecodeError, SchemaStore

MESSAGE_SCHEMA = "org.apache.fineract.avro.MessageV1"
BULK_SCHEMA = "org.apache.fineract.avro.BulkMessagePayloadV1"
BULK_TYPE = "BulkBusinessEvent"


@dataclass(frozen=True)
class FineractEvent:
    """One business event: a plain message, or one item of a bulk message; payload None when not wanted."""

    type: str
    category: str
    dataschema: str
    payload: dict[str, Any] | None
    release: str | None


@dataclass(frozen=True)
class FineractMessage:
    """One `MessageV1` as decoded; `events` has one event, or a bulk message's items in order."""

    id: int
    source: str
    type: str
    dataschema: str
    tenant_id: str
    idempotency_key: str
    created_at: datetime
    business_date: date
    release: str
    events: tuple[FineractEvent, ...]


def read_message(raw: bytes | None, store: SchemaStore, wanted: Callable[[str], bool]) -> FineractMessage:
    """Decode a record value: `MessageV1`, then the payloads of the `wanted` event types (bulk items each)."""
    if raw is None:
        raise DecodeError("record has no value")
    envelope_schema, message = store.decode(raw, expected=MESSAGE_SCHEMA)
    dataschema = message["dataschema"]
    if message["type"] == BULK_TYPE or dataschema == BULK_SCHEMA:
        _schema, bulk = store.decode(message["data"], expected=BULK_SCHEMA)
        events = tuple(_event(item, store, wanted) for item in bulk["datas"])
    else:
        events = (_event(message, store, wanted),)
    return FineractMessage(
        id=message["id"],
        source=message["source"],
        type=message["type"],
        dataschema=dataschema,
        tenant_id=message["tenantId"],
        idempotency_key=message["idempotencyKey"],
        created_at=parse_created_at(message["createdAt"]),
        business_date=parse_date(message["businessDate"], what="businessDate"),
        release=envelope_schema.release,
        events=events,
    )


def _event(item: dict[str, Any], store: SchemaStore, wanted: Callable[[str], bool]) -> FineractEvent:
    """The event of a message or bulk item; a payload nobody maps is not decoded (its schema may be unknown)."""
    if not wanted(item["type"]):
        return FineractEvent(item["type"], item["category"], item["dataschema"], None, None)
    schema, payload = store.decode(item["data"], expected=item["dataschema"])
    return FineractEvent(item["type"], item["category"], item["dataschema"], payload, schema.release)


def parse_date(text: str | None, *, what: str) -> date:
    """An ISO local date as Fineract writes it (`2024-03-15`)."""
    if not text:
        raise DecodeError(f"{what} is missing")
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise DecodeError(f"{what} is not an ISO date") from None


def parse_created_at(text: str) -> datetime:
    """`createdAt` is UTC in ISO_LOCAL_DATE_TIME (no offset); an offset, when present, is honoured."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise DecodeError("createdAt is not an ISO date-time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_key(key: bytes | None) -> int | None:
    """The record key: the aggregate id as Kafka's LongSerializer writes it (8 bytes, big-endian, signed)."""
    if key is None or len(key) != 8:
        return None
    return int.from_bytes(key, "big", signed=True)
