"""risk alerts: the open alerts of loans and customers, and the customer's timeline of alerts and reviews"""

import sqlalchemy as sa
from alembic import op

from postloan_common.migrations_schema import (
    created_updated_columns,
    id_column,
    identity_column,
    jsonb_object_column,
    timestamp_column,
)

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "risk_alerts",
        id_column("alert_id"),
        id_column("rule_id"),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("subject_type", sa.String(16), nullable=False),
        id_column("subject_id"),
        id_column("customer_id", nullable=True),
        id_column("loan_id", nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=True),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        *created_updated_columns(),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_risk_alerts")),
        sa.CheckConstraint("status IN ('open', 'resolved', 'dismissed')", name=op.f("ck_risk_alerts_status_known")),
    )
    op.create_index("ix_risk_alerts_open_loan", "risk_alerts", ["loan_id"], postgresql_where=sa.text("status = 'open'"))
    op.create_index(
        "ix_risk_alerts_open_customer", "risk_alerts", ["customer_id"], postgresql_where=sa.text("status = 'open'")
    )
    op.create_table(
        "customer_timeline",
        identity_column("id"),
        id_column("customer_id"),
        id_column("loan_id", nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        id_column("ref_id"),
        jsonb_object_column("details"),
        sa.Column("business_date", sa.Date(), nullable=True),
        timestamp_column("at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_timeline")),
    )
    op.create_index("ix_customer_timeline_customer_id_id", "customer_timeline", ["customer_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_customer_timeline_customer_id_id", table_name="customer_timeline")
    op.drop_table("customer_timeline")
    op.drop_index("ix_risk_alerts_open_customer", table_name="risk_alerts")
    op.drop_index("ix_risk_alerts_open_loan", table_name="risk_alerts")
    op.drop_table("risk_alerts")
