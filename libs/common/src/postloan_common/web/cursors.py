"""Opaque keyset-pagination cursors: the sort key of the last row seen, encoded so clients cannot depend on it."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from postloan_common.web.problems import ProblemError


class BadCursor(ProblemError):
    """The cursor was not produced by this API (answered as 400 problem+json)."""

    def __init__(self) -> None:
        super().__init__(400, "Invalid cursor", "cursor is not valid; start again without it")


def encode_cursor(values: list[Any]) -> str:
    """Encode the keyset values (JSON-serialisable; dates and decimals as strings) as an opaque cursor."""
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, size: int | None = None) -> list[Any]:
    """Return the keyset values of `cursor`, raising BadCursor when it is malformed or has the wrong length."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise BadCursor() from None
    if not isinstance(values, list) or (size is not None and len(values) != size):
        raise BadCursor()
    return values
