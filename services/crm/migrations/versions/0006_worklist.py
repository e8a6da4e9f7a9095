"""worklist: an interaction may set the case's next action (a callback); interactions read per case"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.add_column("interactions", sa.Column("next_action_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_interactions_case_id_occurred_at", "interactions", ["case_id", "occurred_at"])
    op.create_index("ix_promises_case_id", "promises", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_promises_case_id", table_name="promises")
    op.drop_index("ix_interactions_case_id_occurred_at", table_name="interactions")
    op.drop_column("interactions", "next_action_at")
