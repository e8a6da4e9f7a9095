"""Read models of the API (their SQL lives in store.queries)."""

from __future__ import annotations

from postloan_crm.store.queries import (
    BadCursor,
    case_detail,
    decode_cursor,
    encode_cursor,
    list_cases,
    list_communications,
    list_tickets,
    overview,
    page,
)

__all__ = [
    "BadCursor",
    "case_detail",
    "decode_cursor",
    "encode_cursor",
    "list_cases",
    "list_communications",
    "list_tickets",
    "overview",
    "page",
]
