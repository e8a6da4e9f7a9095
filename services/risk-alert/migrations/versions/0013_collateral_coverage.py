"""collateral coverage: the secured value last emitted per loan (collateral-coverage-changed, issue 14)

The close of day emits `collateral-coverage-changed` when a loan's secured value (its collateral's
value after haircut allocated to it) differs from the one it last emitted; NULL: never emitted (0).
"""

from alembic import op

from postloan_common.migrations_schema import money_column

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    op.add_column("loan_features", money_column("published_secured_value", nullable=True))


def downgrade() -> None:
    op.drop_column("loan_features", "published_secured_value")
