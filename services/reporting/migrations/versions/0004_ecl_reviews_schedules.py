"""reporting: each loan's ECL and IFRS 9 stage by business date and post-loan reviews (issue 14); monthly
management-report schedules and a record of each run (issue 17)"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from postloan_common.migrations_schema import id_column, money_column, timestamp_column

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
    op.create_table(
        "rpt_report_schedule",
        id_column("schedule_id"),
        sa.Column("recipients", postgresql.ARRAY(sa.String(length=254)), nullable=False),
        sa.Column("lang", sa.String(length=5), nullable=False),
        sa.Column("format", sa.String(length=4), nullable=False),
        id_column("product", nullable=True),
        id_column("branch", nullable=True),
        sa.Column("first_month", sa.Date(), nullable=False),
        id_column("created_by"),
        timestamp_column("created_at"),
        sa.PrimaryKeyConstraint("schedule_id", name=op.f("pk_rpt_report_schedule")),
    )
    op.create_table(
        "rpt_report_run",
        id_column("schedule_id"),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("schedule_id", "month", name=op.f("pk_rpt_report_run")),
    )



def downgrade() -> None:
    op.drop_table("rpt_report_run")
    op.drop_table("rpt_report_schedule")
    op.drop_index(op.f("ix_rpt_review_loan_key"), table_name="rpt_review")
    op.drop_table("rpt_review")
    op.drop_table("rpt_loan_ecl")
