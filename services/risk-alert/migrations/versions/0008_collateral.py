"""collateral: items with their valuation history and their links to loans, and the collateral rules"""

import sqlalchemy as sa
from alembic import op

from postloan_common.migrations_schema import (
    created_updated_columns,
    delete_rules,
    id_column,
    insert_rules,
    money_column,
    timestamp_column,
)

revision = "0008"
down_revision = "0007"

# High severity: each also triggers a review (docs/domain.md).
RULES = [
    ("ltv-above-0.8", "Loan-to-value above 0.8", {"feature": "ltv", "op": ">", "value": 0.8}),
    ("collateral-valuation-stale", "Collateral valuation older than its revaluation period",
     {"feature": "valuation_stale", "op": ">", "value": 0}),
    ("collateral-insurance-expiring", "Collateral insurance expiring within 30 days",
     {"feature": "insurance_expiring", "op": ">", "value": 0}),
]


def upgrade() -> None:
    op.create_table(
        "collateral",
        id_column("collateral_id", primary_key=True),
        id_column("customer_id"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        money_column("value"),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("valued_on", sa.Date(), nullable=False),
        sa.Column("valuer", sa.String(200), nullable=False),
        sa.Column("haircut", sa.Numeric(6, 4), nullable=False),
        sa.Column("lien_rank", sa.SmallInteger(), nullable=False, server_default=sa.text("1")),
        sa.Column("insurance_expires_on", sa.Date(), nullable=True),
        *created_updated_columns(),
    )
    op.create_index("ix_collateral_customer_id", "collateral", ["customer_id"])
    op.create_table(
        "collateral_valuations",
        sa.Column("collateral_id", sa.String(64), sa.ForeignKey("collateral.collateral_id"), nullable=False),
        sa.Column("valued_on", sa.Date(), nullable=False),
        money_column("value"),
        sa.Column("valuer", sa.String(200), nullable=False),
        timestamp_column("created_at"),
        sa.PrimaryKeyConstraint("collateral_id", "valued_on", name="pk_collateral_valuations"),
    )
    op.create_table(
        "collateral_links",
        sa.Column("collateral_id", sa.String(64), sa.ForeignKey("collateral.collateral_id"), nullable=False),
        id_column("loan_id"),
        money_column("allocated_value", nullable=True),
        timestamp_column("created_at"),
        sa.PrimaryKeyConstraint("collateral_id", "loan_id", name="pk_collateral_links"),
    )
    op.create_index("ix_collateral_links_loan_id", "collateral_links", ["loan_id"])
    insert_rules(RULES, subject_type="loan", severity="high", dedup_window_days=30)


def downgrade() -> None:
    delete_rules(RULES)
    op.drop_index("ix_collateral_links_loan_id", table_name="collateral_links")
    op.drop_table("collateral_links")
    op.drop_table("collateral_valuations")
    op.drop_index("ix_collateral_customer_id", table_name="collateral")
    op.drop_table("collateral")
