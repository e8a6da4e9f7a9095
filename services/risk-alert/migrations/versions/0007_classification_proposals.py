"""classification proposals: a judgement on a loan's category, proposed and approved by two people"""

import sqlalchemy as sa
from alembic import op

from postloan_common.migrations_schema import created_updated_columns, id_column

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "classification_proposals",
        id_column("proposal_id", primary_key=True),
        id_column("loan_id"),
        id_column("customer_id"),
        sa.Column("classification", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("proposed_by", sa.String(200), nullable=False),
        sa.Column("proposed_on", sa.Date(), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        *created_updated_columns(),
    )
    op.create_index(
        "uq_classification_proposals_pending",
        "classification_proposals",
        ["loan_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "uq_classification_proposals_approved",
        "classification_proposals",
        ["loan_id"],
        unique=True,
        postgresql_where=sa.text("status = 'approved'"),
    )
    op.create_index("ix_classification_proposals_status", "classification_proposals", ["status", "proposal_id"])


def downgrade() -> None:
    op.drop_index("ix_classification_proposals_status", table_name="classification_proposals")
    op.drop_index("uq_classification_proposals_approved", table_name="classification_proposals")
    op.drop_index("uq_classification_proposals_pending", table_name="classification_proposals")
    op.drop_table("classification_proposals")
