"""crm: agents belong to a team, which scopes what their supervisor reads

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('agents', sa.Column('team', sa.String(length=64), nullable=True))
    op.create_index(op.f('ix_agents_team'), 'agents', ['team'])


def downgrade() -> None:
    op.drop_index(op.f('ix_agents_team'), table_name='agents')
    op.drop_column('agents', 'team')
