"""Parse an event's data against its contract, or refuse it for good with a reason free of personal data."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from postloan_common.contracts.registry import UnknownContract
from postloan_common.contracts.registry import parse_data as _contract_data
from postloan_common.messaging.envelope import Envelope
from postloan_common.messaging.errors import PermanentError

M = TypeVar("M", bound=BaseModel)

# A dead-letter reason names at most this many failing fields; the rest are counted.
MAX_REASONS = 5


def validation_reason(exc: ValidationError) -> str:
    """Describe a validation failure by field location and error type only, never the rejected input (issue 13)."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'data'}: {e['type']}" for e in errors[:MAX_REASONS]]
    if len(errors) > MAX_REASONS:
        parts.append(f"and {len(errors) - MAX_REASONS} more")
    return "; ".join(parts)


def parse_data(envelope: Envelope, model: type[M]) -> M:
    """Return `envelope.data` validated against its registered contract, or raise PermanentError."""
    label = f"{envelope.type} v{envelope.version}"
    try:
        data = _contract_data(envelope)
    except UnknownContract:
        raise PermanentError(f"{label}: no contract is registered") from None
    except ValidationError as exc:
        raise PermanentError(f"{label} does not match its contract: {validation_reason(exc)}") from None
    if not isinstance(data, model):
        raise PermanentError(f"{label} is not a {model.__name__}")
    return data
