"""reporting: monthly management-report schedules and a record of each run (issue 17)"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from postloan_common.migrations_schema import id_column, timestamp_column

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
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
