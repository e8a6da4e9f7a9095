"""reporting: each loan's ECL and IFRS 9 stage by business date, and post-loan reviews (issue 14)"""

import sqlalchemy as sa
from alembic import op

from postloan_common.migrations_schema import id_column, money_column

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "rpt_loan_ecl",
        sa.Column("loan_key", sa.BigInteger(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("ifrs9_stage", sa.SmallInteger(), nullable=False),
        money_column("ecl"),
        sa.PrimaryKeyConstraint("loan_key", "business_date", name=op.f("pk_rpt_loan_ecl")),
    )
    op.create_table(
        "rpt_review",
        id_column("review_id"),
        sa.Column("loan_key", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("scheduled_on", sa.Date(), nullable=True),
        sa.Column("overdue_on", sa.Date(), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("worst_finding", sa.String(length=10), nullable=True),
        sa.Column("recommendation", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("review_id", name=op.f("pk_rpt_review")),
    )
    op.create_index(op.f("ix_rpt_review_loan_key"), "rpt_review", ["loan_key"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_rpt_review_loan_key"), table_name="rpt_review")
    op.drop_table("rpt_review")
    op.drop_table("rpt_loan_ecl")
