"""worklist: an interaction may set the case's next action (a callback); interactions read per case

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("interactions", sa.Column("next_action_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_interactions_case_id_occurred_at", "interactions", ["case_id", "occurred_at"])
    op.create_index("ix_promises_case_id", "promises", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_promises_case_id", table_name="promises")
    op.drop_index("ix_interactions_case_id_occurred_at", table_name="interactions")
    op.drop_column("interactions", "next_action_at")
