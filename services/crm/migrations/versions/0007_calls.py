"""calls: click-to-call attempts through the CTI provider (or manual), and their results"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from postloan_common.migrations_schema import created_updated_columns, id_column

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "calls",
        id_column("call_id"),
        id_column("case_id"),
        id_column("customer_id"),
        id_column("loan_id", nullable=True),
        sa.Column("agent_id", sa.String(200), nullable=False),
        sa.Column("phone_index", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("provider_call_id", sa.String(200), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result", postgresql.JSONB(), nullable=True),
        id_column("interaction_id", nullable=True),
        *created_updated_columns(),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_calls")),
        sa.CheckConstraint("mode IN ('cti', 'manual')", name=op.f("ck_calls_mode_known")),
        sa.CheckConstraint(
            "status IN ('requested', 'dialling', 'failed', 'completed')", name=op.f("ck_calls_status_known")
        ),
    )
    op.create_index("ix_calls_case_id", "calls", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_calls_case_id", table_name="calls")
    op.drop_table("calls")
