"""A consumed record as the consumer handles it, and its fields bounded and cleaned for the database."""

from __future__ import annotations

import dataclasses
import hashlib
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from postloan_common.messaging.envelope import Envelope

# Synthetic inbox ids for records that carry no readable event id.
MALFORMED_NAMESPACE = uuid.UUID("6f1c2a4e-5b0d-4c61-9a57-9d7f3f2f5d10")
MAX_KEY = 200  # outbox.key
MAX_HEADERS = 50


@dataclass
class Item:
    """One polled record, its envelope (None when unreadable) and the inbox id it is claimed under."""

    record: ConsumerRecord
    envelope: Envelope | None
    error: str | None
    inbox_id: uuid.UUID = field(init=False)

    def __post_init__(self) -> None:
        self.inbox_id = self.envelope.id if self.envelope is not None else locator_id(self.record)

    @property
    def event_type(self) -> str:
        """The envelope's type, or a marker for a record that has none."""
        return self.envelope.type if self.envelope is not None else "<malformed>"


def locator_id(record: ConsumerRecord) -> uuid.UUID:
    """A stable inbox id for a record whose own event id cannot be used."""
    return uuid.uuid5(MALFORMED_NAMESPACE, f"{record.topic}:{record.partition}:{record.offset}")


# Turns a record into the envelope handlers see; a connector reading a foreign format brings its own.
# Raising ValueError dead-letters the record with the error's text as the reason.
Decoder = Callable[[ConsumerRecord], Envelope]


def parse(record: ConsumerRecord, decode: Decoder | None = None) -> Item:
    """The record with its envelope (read by `decode` when given), or with the reason it has none."""
    if decode is not None:
        try:
            return Item(record, decode(record), None)
        except (ValidationError, ValueError, UnicodeDecodeError) as exc:
            return Item(record, None, f"undecodable record: {reason(exc)}")
    try:
        return Item(record, Envelope.from_bytes(record.value), None)
    except (ValidationError, ValueError, UnicodeDecodeError) as exc:
        return Item(record, None, f"malformed envelope: {reason(exc)}")


def reason(exc: BaseException) -> str:
    """Why an event failed, without the values it carried (they may be PII)."""
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(root)'}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False, include_context=False)[:20]
        )
        return bounded(f"{exc.error_count()} validation error(s) for {exc.title}: {problems}", 4000)
    summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return bounded(summary, 4000)


def bounded(text: str, limit: int) -> str:
    """`text` as PostgreSQL text and JSONB accept it: no NUL characters, at most `limit` characters."""
    cleaned = text.replace("\x00", "\ufffd")
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def outbox_key(raw: bytes | None) -> str:
    """A record key as the outbox's VARCHAR(200) key column takes it; an over-long key keeps a digest."""
    key = bounded((raw or b"").decode(errors="replace"), 10_000)
    if len(key) <= MAX_KEY:
        return key
    digest = hashlib.sha256(raw or b"").hexdigest()[:16]
    return f"{key[: MAX_KEY - 18]}~{digest}"


def bare_record(record: ConsumerRecord) -> ConsumerRecord:
    """The record with only what is safe to store: no key, no headers; the value stays as bytes."""
    return dataclasses.replace(record, key=None, headers=())
