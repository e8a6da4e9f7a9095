"""The connector's database: outbox and inbox, the ids it has mapped, and counts per Fineract event type."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, String, Table, func

from postloan_common.db import new_metadata
from postloan_common.messaging.tables import add_messaging_tables

metadata = new_metadata()
outbox, inbox = add_messaging_tables(metadata)

# postloan id ↔ Fineract id, for operators tracing an event back to Fineract.
id_map = Table(
    "id_map",
    metadata,
    Column("postloan_id", String(200), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("tenant_id", String(100), nullable=False),
    Column("fineract_id", BigInteger, nullable=False),
    Column("first_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# One row per (Fineract event type, outcome): what the status endpoint shows.
event_counts = Table(
    "event_counts",
    metadata,
    Column("event_type", String(100), primary_key=True),
    Column("outcome", String(20), primary_key=True),
    Column("count", BigInteger, nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
