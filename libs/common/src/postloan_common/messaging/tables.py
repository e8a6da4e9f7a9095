"""Outbox and inbox tables, added to each service's own metadata."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

OUTBOX_CHANNEL = "postloan_outbox"


def outbox_table(metadata: MetaData) -> Table:
    """Events written in the same transaction as the change that caused them."""
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        # None: the partitioner picks by key; set for broadcasts such as day-closed.
        Column("partition", Integer, nullable=True),
        Column("event_type", String(100), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text, nullable=True),
        # Set when the broker rejected the row for good; the relay skips it until an operator retries it.
        Column("parked_at", DateTime(timezone=True), nullable=True),
        Column("parked_reason", Text, nullable=True),
        Index("ix_outbox_pending", "id", postgresql_where=text("published_at IS NULL")),
        Index("ix_outbox_published_at", "published_at", postgresql_where=text("published_at IS NOT NULL")),
    )


def inbox_table(metadata: MetaData) -> Table:
    """One row per (consumer, event id) already applied."""
    return Table(
        "inbox",
        metadata,
        Column("consumer", String(100), nullable=False),
        Column("event_id", UUID(as_uuid=True), nullable=False),
        Column("event_type", String(100), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id", name="pk_inbox"),
    )


def add_messaging_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Add outbox and inbox to `metadata`; return them."""
    return outbox_table(metadata), inbox_table(metadata)


# Executed by each service's first migration after the tables exist.
NOTIFY_TRIGGER_DDL = (
    f"""
    CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('{OUTBOX_CHANNEL}', '');
        RETURN NULL;
    END $$;
    """,
    """
    CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
    """,
)
NOTIFY_TRIGGER_DROP = (
    "DROP TRIGGER IF EXISTS outbox_notify ON outbox",
    "DROP FUNCTION IF EXISTS outbox_notify()",
)
