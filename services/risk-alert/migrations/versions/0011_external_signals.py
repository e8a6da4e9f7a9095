"""external signals: signals from outside the bank, customers' industries, and the rules on them (issue 15)"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from postloan_common.migrations_schema import delete_rules, id_column, insert_rules, timestamp_column

revision = "0011"
down_revision = "0010"

CRITICAL = [
    ("signal-enforcement-listing", "The borrower is listed for enforcement (被执行人)", {"feature": "enforcement_listings_open", "op": ">", "value": 0}),
]
HIGH = [
    ("signal-court-judgment", "A court judgment against the borrower is open", {"feature": "court_judgments_open", "op": ">", "value": 0}),
    ("signal-bureau-delinquency", "The credit bureau reports the borrower over 30 days late elsewhere", {"feature": "bureau_delinquency_dpd", "op": ">", "value": 30}),
]
MEDIUM = [
    ("signal-bureau-inquiries", "Six or more credit-bureau inquiries in 90 days", {"feature": "bureau_inquiries_90d", "op": ">=", "value": 6}),
    ("signal-industry-downturn", "The borrower's industry index fell 15 % or more in 90 days", {"feature": "industry_index_change", "op": "<=", "value": -0.15}),
]  # fmt: skip


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
    insert_rules(CRITICAL, subject_type="loan", severity="critical", dedup_window_days=30)
    insert_rules(HIGH, subject_type="loan", severity="high", dedup_window_days=30)
    insert_rules(MEDIUM, subject_type="loan", severity="medium", dedup_window_days=30)


def downgrade() -> None:
    delete_rules([*CRITICAL, *HIGH, *MEDIUM])
    op.drop_index("ix_customer_industries_industry", table_name="customer_industries")
    op.drop_table("customer_industries")
    op.drop_index("ix_external_signals_subject_subject_id_observed_on", table_name="external_signals")
    op.drop_index("ix_external_signals_customer_id_observed_on", table_name="external_signals")
    op.drop_table("external_signals")
