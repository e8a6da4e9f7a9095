"""reporting: each loan's secured value (collateral after haircut) by business date, from
collateral-coverage-changed, for the NPL collateral coverage of the risk and management reports (issue 14)"""

import sqlalchemy as sa
from alembic import op

from postloan_common.migrations_schema import money_column

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "rpt_loan_secured",
        sa.Column("loan_key", sa.BigInteger(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        money_column("secured_value"),
        sa.PrimaryKeyConstraint("loan_key", "business_date", name=op.f("pk_rpt_loan_secured")),
    )


def downgrade() -> None:
    op.drop_table("rpt_loan_secured")
