"""loan purpose: what the borrower said the loan is for, kept from booking for fund-use tracking"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    # Nullable and without a default: adding it rewrites no rows of a large loans table.
    op.add_column("loans", sa.Column("purpose", sa.String(32), nullable=True))


def downgrade() -> None:
    op.drop_column("loans", "purpose")
