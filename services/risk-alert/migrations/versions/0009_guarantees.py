"""guarantees: who guarantees which loan, and the rules on the guarantor and the guarantee's expiry"""

import sqlalchemy as sa
from alembic import op

from postloan_common.migrations_schema import delete_rules, id_column, insert_rules, money_column, timestamp_column

revision = "0009"
down_revision = "0008"

RULES = [
    ("guarantor-delinquent", "The guarantor is delinquent on its own loans", {"feature": "guarantor_dpd", "op": ">", "value": 0}),
    ("guarantor-npl", "The guarantor has a non-performing loan", {"feature": "guarantor_npl", "op": ">", "value": 0}),
    ("guarantee-expired", "A guarantee expired while the loan is open", {"feature": "guarantee_expired", "op": ">", "value": 0}),
]


def upgrade() -> None:
    op.create_table(
        "guarantees",
        id_column("guarantee_id", primary_key=True),
        id_column("loan_id"),
        id_column("customer_id"),
        id_column("guarantor_customer_id"),
        sa.Column("kind", sa.String(24), nullable=False),
        money_column("amount"),
        sa.Column("valid_until", sa.Date(), nullable=False),
        timestamp_column("created_at"),
    )
    op.create_index("ix_guarantees_loan_id", "guarantees", ["loan_id"])
    op.create_index("ix_guarantees_guarantor_customer_id", "guarantees", ["guarantor_customer_id"])
    insert_rules(RULES, subject_type="loan", severity="high", dedup_window_days=30)


def downgrade() -> None:
    delete_rules(RULES)
    op.drop_index("ix_guarantees_guarantor_customer_id", table_name="guarantees")
    op.drop_index("ix_guarantees_loan_id", table_name="guarantees")
    op.drop_table("guarantees")
