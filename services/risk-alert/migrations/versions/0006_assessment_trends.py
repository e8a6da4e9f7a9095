"""assessment trends: the debt ratio's rising streak as a customer feature and its rule"""

import sqlalchemy as sa
from alembic import op

from postloan_common.migrations_schema import delete_rules, insert_rules

revision = "0006"
down_revision = "0005"

RULES = [
    (
        "debt-ratio-rising-2",
        "Debt ratio rising two periods in a row",
        {"feature": "debt_ratio_rises", "op": ">=", "value": 2},
    ),
]


def upgrade() -> None:
    op.add_column("customer_features", sa.Column("debt_ratio_rises", sa.Integer(), nullable=True))
    insert_rules(RULES, subject_type="customer", severity="medium", dedup_window_days=30)


def downgrade() -> None:
    delete_rules(RULES)
    op.drop_column("customer_features", "debt_ratio_rises")
