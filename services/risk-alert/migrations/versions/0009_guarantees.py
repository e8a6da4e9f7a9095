"""guarantees: who guarantees which loan, and the rules on the guarantor and the guarantee's expiry"""

import json
import sqlalchemy as sa
from alembic import op

from postloan_common.migrations_schema import id_column, money_column, timestamp_column

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
    for rule_id, name, condition in RULES:
        op.execute(
            sa.text(
                "INSERT INTO rules (rule_id, name, subject_type, condition, severity, dedup_window_days)"
                " VALUES (:rule_id, :name, 'loan', CAST(:condition AS jsonb), 'high', 30)"
                " ON CONFLICT (rule_id) DO NOTHING"
            ).bindparams(rule_id=rule_id, name=name, condition=json.dumps(condition))
        )


def downgrade() -> None:
    op.execute(
        sa.text("DELETE FROM rules WHERE rule_id IN ('guarantor-delinquent', 'guarantor-npl', 'guarantee-expired')")
    )
    op.drop_index("ix_guarantees_guarantor_customer_id", table_name="guarantees")
    op.drop_index("ix_guarantees_loan_id", table_name="guarantees")
    op.drop_table("guarantees")
