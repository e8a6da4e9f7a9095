"""installments without a foreign key to loans (bulk intake speed)"""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.drop_constraint("fk_installments_loan_id_loans", "installments", type_="foreignkey")


def downgrade() -> None:
    op.create_foreign_key(
        "fk_installments_loan_id_loans", "installments", "loans", ["loan_id"], ["loan_id"], ondelete="CASCADE"
    )
