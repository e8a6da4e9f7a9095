"""The connector's database: outbox and inbox, the ids it has mapped, and counts per Fineract event type."""

from __future__ import annotations

import sqlalchemy as sa

from postloan_common.db import new_metadata
from postloan_common.messaging.tables import add_messaging_tables
from postloan_common.migrations_schema import timestamp_column

metadata = new_metadata()
outbox, inbox = add_messaging_tables(metadata)

# postloan id ↔ Fineract id, for operators tracing an event back to Fineract.
id_map = sa.Table(
    "id_map",
    metadata,
    sa.Column("postloan_id", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("tenant_id", sa.String(100), nullable=False),
    sa.Column("fineract_id", sa.BigInteger, nullable=False),
    timestamp_column("first_seen_at"),
)

# One row per (Fineract event type, outcome): what the status endpoint shows.
event_counts = sa.Table(
    "event_counts",
    metadata,
    sa.Column("event_type", sa.String(100), primary_key=True),
    sa.Column("outcome", sa.String(20), primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False),
    timestamp_column("last_seen_at"),
)
