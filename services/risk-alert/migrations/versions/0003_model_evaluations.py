"""model_evaluations: each model version's AUC/KS/calibration on labelled own history, stored when evaluated"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from postloan_common.migrations_schema import timestamp_column

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "model_evaluations",
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("labelled_rows", sa.Integer(), nullable=False),
        sa.Column("auc", sa.Float(), nullable=True),
        sa.Column("ks", sa.Float(), nullable=True),
        sa.Column("calibration", postgresql.JSONB(), nullable=True),
        timestamp_column("evaluated_at"),
        sa.ForeignKeyConstraint(
            ["version"], ["models.version"], name="fk_model_evaluations_version_models", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("version", name="pk_model_evaluations"),
    )


def downgrade() -> None:
    op.drop_table("model_evaluations")
