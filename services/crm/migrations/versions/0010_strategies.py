"""strategies: versioned collection strategies run as experiments, and the arm each case was given"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from postloan_common.migrations_schema import id_column, timestamp_column

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.create_table(
        "strategies",
        id_column("strategy_id"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("arms", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "ladders", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
        sa.Column("queues", postgresql.ARRAY(sa.String(16)), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        timestamp_column("created_at"),
        sa.PrimaryKeyConstraint("strategy_id", "version", name=op.f("pk_strategies")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_strategies_version_positive")),
    )
    # Existing cases opened before any experiment: no arm (null), which reporting shows as outside experiments.
    op.add_column("cases", id_column("experiment", nullable=True))
    op.add_column("cases", sa.Column("experiment_version", sa.Integer(), nullable=True))
    op.add_column("cases", sa.Column("arm", sa.String(32), nullable=True))
    op.add_column("cases", sa.Column("arm_role", sa.String(16), nullable=True))


def downgrade() -> None:
    for column in ("arm_role", "arm", "experiment_version", "experiment"):
        op.drop_column("cases", column)
    op.drop_table("strategies")
