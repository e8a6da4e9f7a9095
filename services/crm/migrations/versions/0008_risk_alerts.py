"""risk alerts: the open alerts of loans and customers, and the customer's timeline of alerts and reviews"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "risk_alerts",
        sa.Column("alert_id", sa.String(64), nullable=False),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=True),
        sa.Column("loan_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=True),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_risk_alerts")),
        sa.CheckConstraint("status IN ('open', 'resolved', 'dismissed')", name=op.f("ck_risk_alerts_status_known")),
    )
    op.create_index("ix_risk_alerts_open_loan", "risk_alerts", ["loan_id"], postgresql_where=sa.text("status = 'open'"))
    op.create_index(
        "ix_risk_alerts_open_customer", "risk_alerts", ["customer_id"], postgresql_where=sa.text("status = 'open'")
    )
    op.create_table(
        "customer_timeline",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("loan_id", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ref_id", sa.String(64), nullable=False),
        sa.Column("details", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("business_date", sa.Date(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_timeline")),
    )
    op.create_index("ix_customer_timeline_customer_id_id", "customer_timeline", ["customer_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_customer_timeline_customer_id_id", table_name="customer_timeline")
    op.drop_table("customer_timeline")
    op.drop_index("ix_risk_alerts_open_customer", table_name="risk_alerts")
    op.drop_index("ix_risk_alerts_open_loan", table_name="risk_alerts")
    op.drop_table("risk_alerts")
