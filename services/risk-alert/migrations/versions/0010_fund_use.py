"""fund use: loan purposes, fund flows and their totals, fund-use policies and flags (issue 15)"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from postloan_common.migrations_schema import id_column, money_column, timestamp_column

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.create_table(
        "loan_purposes",
        id_column("loan_id", primary_key=True),
        sa.Column("purpose", sa.String(32), nullable=False),
    )
    op.create_table(
        "fund_flows",
        id_column("flow_id", primary_key=True),
        id_column("loan_id"),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        money_column("amount"),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("counterparty_name", sa.String(200), nullable=False),
        sa.Column("counterparty_account", sa.String(64), nullable=True),
        sa.Column("counterparty_bank", sa.String(200), nullable=True),
        sa.Column("counterparty_kind", sa.String(32), nullable=False),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_fund_flows_loan_id_occurred_on", "fund_flows", ["loan_id", "occurred_on"])
    op.create_table(
        "fund_flow_totals",
        id_column("loan_id"),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("counterparty_kind", sa.String(32), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        money_column("amount"),
        sa.Column("flows", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("loan_id", "direction", "counterparty_kind", "category", name="pk_fund_flow_totals"),
    )
    op.create_table(
        "fund_use_policies",
        sa.Column("purpose", sa.String(32), primary_key=True),
        sa.Column("policy", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        timestamp_column("updated_at"),
    )
    op.create_table(
        "fund_use_flags",
        id_column("loan_id"),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        money_column("amount"),
        sa.Column("flow_ids", postgresql.ARRAY(sa.String(64)), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        id_column("alert_id", nullable=True),
        sa.PrimaryKeyConstraint("loan_id", "rule", name="pk_fund_use_flags"),
    )
    op.create_index("ix_fund_use_flags_raised_on", "fund_use_flags", ["raised_on", "loan_id", "rule"])


def downgrade() -> None:
    op.drop_index("ix_fund_use_flags_raised_on", table_name="fund_use_flags")
    op.drop_table("fund_use_flags")
    op.drop_table("fund_use_policies")
    op.drop_table("fund_flow_totals")
    op.drop_index("ix_fund_flows_loan_id_occurred_on", table_name="fund_flows")
    op.drop_table("fund_flows")
    op.drop_table("loan_purposes")
