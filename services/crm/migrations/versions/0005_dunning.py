"""dunning: ladders per queue and bucket, and the step a dunning communication was sent for"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from postloan_common.migrations_schema import timestamp_column

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "dunning_ladders",
        sa.Column("queue", sa.String(16), nullable=False),
        sa.Column("bucket", sa.String(8), nullable=False),
        sa.Column("steps", postgresql.JSONB(), nullable=False),
        timestamp_column("updated_at"),
        sa.Column("updated_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("queue", "bucket", name="pk_dunning_ladders"),
    )
    op.add_column("communications", sa.Column("step", sa.Integer(), nullable=True))
    op.create_index(
        "ix_communications_dunning_case",
        "communications",
        ["case_id", "step"],
        postgresql_where=sa.text("kind = 'dunning'"),
    )


def downgrade() -> None:
    op.drop_index("ix_communications_dunning_case", table_name="communications")
    op.drop_column("communications", "step")
    op.drop_table("dunning_ladders")
