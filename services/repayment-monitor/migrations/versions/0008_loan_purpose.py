"""loan purpose: what the borrower said the loan is for, kept from booking for fund-use tracking

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable and without a default: adding it rewrites no rows of a large loans table.
    op.add_column("loans", sa.Column("purpose", sa.String(32), nullable=True))


def downgrade() -> None:
    op.drop_column("loans", "purpose")
