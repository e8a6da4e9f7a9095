"""The crm table of collection strategies run as experiments (issue 16 item 6): every version is kept."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from postloan_common.migrations_schema import timestamp_column
from postloan_crm.store.tables import ID, metadata

strategies = sa.Table(
    "strategies",
    metadata,
    sa.Column("strategy_id", ID, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("salt", sa.String(64), nullable=False),
    # [{name, role, share, ladder}] in assignment order; shares are decimal strings summing to 1.
    sa.Column("arms", JSONB, nullable=False),
    # [{name, steps: [{dpd, channel, template}]}]: dunning ladders the arms may name instead of the queue's.
    sa.Column("ladders", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("queues", ARRAY(sa.String(16)), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    timestamp_column("created_at"),
    sa.PrimaryKeyConstraint("strategy_id", "version", name="pk_strategies"),
    sa.CheckConstraint("version >= 1", name="version_positive"),
)
