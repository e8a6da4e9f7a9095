"""installments without a foreign key to loans (bulk intake speed)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("fk_installments_loan_id_loans", "installments", type_="foreignkey")


def downgrade() -> None:
    op.create_foreign_key(
        "fk_installments_loan_id_loans", "installments", "loans", ["loan_id"], ["loan_id"], ondelete="CASCADE"
    )
