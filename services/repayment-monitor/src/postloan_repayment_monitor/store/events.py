"""Events SQL: COPY of outbox rows and loan history rows on the session's connection."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.db import driver_connection
from postloan_repayment_monitor.store.tables import loan_events, outbox

_OUTBOX_COLUMNS = ["event_id", "topic", "key", "partition", "event_type", "payload", "headers"]
_HISTORY_COLUMNS = ["loan_id", "event_id", "event_type", "business_date", "data"]


async def copy_events(
    session: AsyncSession, *, outbox_rows: list[dict[str, Any]], history_rows: list[dict[str, Any]]
) -> None:
    """COPY outbox rows (outbox_row dicts) and loan history rows in the session's transaction."""
    # COPY on the session's own connection: repayment ingest writes thousands of these a second.
    conn = await driver_connection(session)
    await conn.copy_records_to_table(
        outbox.name,
        columns=_OUTBOX_COLUMNS,
        records=[
            (*(row[c] for c in _OUTBOX_COLUMNS[:-1]), orjson.dumps(row["headers"]).decode()) for row in outbox_rows
        ],
    )
    await conn.copy_records_to_table(
        loan_events.name,
        columns=_HISTORY_COLUMNS,
        records=[
            (*(row[c] for c in _HISTORY_COLUMNS[:-1]), orjson.dumps(row["data"]).decode()) for row in history_rows
        ],
    )
