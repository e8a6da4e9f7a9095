"""Telephony rules: the signed provider callback, and which of a customer's phones a call may dial."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime, timedelta

# A callback signed longer ago than this is a replay.
CALLBACK_MAX_AGE = timedelta(minutes=5)


def signature(secret: str, *, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 (hex) of `timestamp`, a dot and the raw body, keyed by the shared secret."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def callback_refusal(
    secret: str, *, given: str | None, timestamp: str | None, body: bytes, now: datetime
) -> str | None:
    """Why a provider callback is not authentic (missing, bad or replayed signature), or None."""
    if not given or not timestamp:
        return "the callback is not signed"
    try:
        signed_at = datetime.fromtimestamp(int(timestamp), tz=now.tzinfo)
    except (ValueError, OverflowError, OSError):
        return "the callback timestamp is not a Unix time"
    # Compared in constant time, so the signature cannot be guessed byte by byte.
    if not hmac.compare_digest(signature(secret, timestamp=timestamp, body=body), given.lower()):
        return "the callback signature does not match"
    if abs(now - signed_at) > CALLBACK_MAX_AGE:
        return "the callback timestamp is too old (a replay)"
    return None


def dialled_number(phones: Sequence[str], index: int) -> str | None:
    """The customer's phone at `index` (the client names an index, never a number), or None when out of range."""
    return phones[index] if 0 <= index < len(phones) else None
