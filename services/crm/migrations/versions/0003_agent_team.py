"""crm: agents belong to a team, which scopes what their supervisor reads"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'


def upgrade() -> None:
    op.add_column('agents', sa.Column('team', sa.String(length=64), nullable=True))
    op.create_index(op.f('ix_agents_team'), 'agents', ['team'])


def downgrade() -> None:
    op.drop_index(op.f('ix_agents_team'), table_name='agents')
    op.drop_column('agents', 'team')
