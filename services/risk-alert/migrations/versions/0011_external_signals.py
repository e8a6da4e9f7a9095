"""external signals: signals from outside the bank, customers' industries (issue 15)"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from postloan_common.migrations_schema import id_column, timestamp_column

revision = "0011"
down_revision = "0010"

def upgrade() -> None:
    op.create_table(
        "external_signals",
        id_column("signal_id", primary_key=True),
        sa.Column("subject", sa.String(16), nullable=False),
        id_column("subject_id"),
        id_column("customer_id", nullable=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("observed_on", sa.Date(), nullable=False),
        sa.Column("value", sa.Numeric(20, 6), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        timestamp_column("received_at"),
    )
    op.create_index(
        "ix_external_signals_customer_id_observed_on", "external_signals", ["customer_id", "observed_on"]
    )
    op.create_index(
        "ix_external_signals_subject_subject_id_observed_on",
        "external_signals",
        ["subject", "subject_id", "observed_on"],
    )
    op.create_table(
        "customer_industries",
        id_column("customer_id", primary_key=True),
        sa.Column("industry", sa.String(64), nullable=True),
    )
    op.create_index("ix_customer_industries_industry", "customer_industries", ["industry"])


def downgrade() -> None:
    op.drop_index("ix_customer_industries_industry", table_name="customer_industries")
    op.drop_table("customer_industries")
    op.drop_index("ix_external_signals_subject_subject_id_observed_on", table_name="external_signals")
    op.drop_index("ix_external_signals_customer_id_observed_on", table_name="external_signals")
    op.drop_table("external_signals")
