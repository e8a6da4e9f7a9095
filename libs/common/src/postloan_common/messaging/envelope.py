"""The event envelope (CloudEvents-aligned; fields in docs/architecture.md, "Events")."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import uuid_utils
from pydantic import BaseModel, ConfigDict, Field, field_validator

# The inbox and outbox store the type in VARCHAR(100).
TYPE_MAX_LENGTH = 100
_KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def new_event_id() -> UUID:
    """Return a time-ordered UUIDv7."""
    return UUID(str(uuid_utils.uuid7()))


class Envelope(BaseModel):
    """One event as it travels on a topic; `data` is validated against its contract separately."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: UUID = Field(default_factory=new_event_id)
    type: str = Field(max_length=TYPE_MAX_LENGTH)
    version: int = Field(1, ge=1)
    source: str = Field(max_length=200)
    subject: str = Field(min_length=1, max_length=200)
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    business_date: date | None = None
    correlation_id: str | None = Field(None, max_length=200)
    causation_id: str | None = Field(None, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("type")
    @classmethod
    def _kebab(cls, value: str) -> str:
        if not _KEBAB.match(value):
            raise ValueError(f"event type must be kebab-case, got {value!r}")
        return value

    @field_validator("time")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("time must carry a timezone")
        return value.astimezone(UTC)

    def to_bytes(self) -> bytes:
        """Serialise to the JSON value of a Kafka record."""
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> Envelope:
        """Parse a Kafka record value; raises pydantic.ValidationError when malformed."""
        if raw is None:
            raise ValueError("record has no value")
        return cls.model_validate_json(raw)
