"""connector store: outbox parking, the id map and the per-type event counts"""

import sqlalchemy as sa
from alembic import op

from postloan_common.migrations import downgrade_outbox_parking, upgrade_outbox_parking
from postloan_common.migrations_schema import timestamp_column

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    upgrade_outbox_parking()
    op.create_table(
        "id_map",
        sa.Column("postloan_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("tenant_id", sa.String(100), nullable=False),
        sa.Column("fineract_id", sa.BigInteger(), nullable=False),
        timestamp_column("first_seen_at"),
        sa.PrimaryKeyConstraint("postloan_id", name=op.f("pk_id_map")),
    )
    op.create_table(
        "event_counts",
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        timestamp_column("last_seen_at"),
        sa.PrimaryKeyConstraint("event_type", "outcome", name=op.f("pk_event_counts")),
    )


def downgrade() -> None:
    op.drop_table("event_counts")
    op.drop_table("id_map")
    downgrade_outbox_parking()
