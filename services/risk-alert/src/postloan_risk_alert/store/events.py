"""Outbox events built in SQL from a CTE of (subject, data) rows: one statement per event type and chunk."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime
from typing import Any

from postloan_common.catalog import RISK_SCORES

SOURCE = "risk-alert"


def emit_sql(*, source: str, type_: str, first_param: int) -> str:
    """A statement inserting one outbox event per row of CTE `source` (columns: subject, data).

    Parameters from `first_param`: envelope time, business date and correlation id (text), headers (jsonb),
    and the prefix and counter base of the event ids (see `_envelope_params`).
    The envelope is built as json (not jsonb): plain concatenation, no key sorting.
    """
    p = first_param
    return f"""INSERT INTO outbox (event_id, topic, key, partition, event_type, payload, headers)
SELECT id, '{RISK_SCORES}', subject, NULL, '{type_}', convert_to(json_build_object(
    'id', id, 'type', '{type_}', 'version', 1, 'source', '{SOURCE}', 'subject', subject,
    'time', ${p}::text, 'business_date', ${p + 1}::text, 'correlation_id', ${p + 2}::text,
    'causation_id', NULL, 'data', data)::text, 'UTF8'), ${p + 3}::jsonb
FROM (
    SELECT (${p + 4}::text || lpad(to_hex(${p + 5}::bigint + row_number() OVER ()), 15, '0'))::uuid AS id, subject, data
    FROM {source}
) ev"""


def envelope_params(business_date: date, correlation: str | None, type_: str) -> list[Any]:
    headers = {"event-type": type_, "event-version": "1"}
    if correlation:
        headers["correlation-id"] = correlation
    # Event ids are UUIDv7 (docs/architecture.md): this millisecond and 12 random bits, version and variant nibbles,
    # then a random 59-bit base plus the row number — unique within the statement, random across statements,
    # and without a strong random draw per row (gen_random_uuid() costs microseconds each).
    now = datetime.now(UTC)
    millis = int(now.timestamp() * 1000)
    prefix = f"{millis:012x}7{secrets.randbits(12):03x}8"
    return [now.isoformat(), business_date.isoformat(), correlation, json.dumps(headers), prefix, secrets.randbits(59)]
