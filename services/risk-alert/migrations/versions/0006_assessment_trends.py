"""assessment trends: the debt ratio's rising streak as a customer feature and its rule"""

import json
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"

RULES = [
    (
        "debt-ratio-rising-2",
        "Debt ratio rising two periods in a row",
        {"feature": "debt_ratio_rises", "op": ">=", "value": 2},
        "medium",
    ),
]


def upgrade() -> None:
    op.add_column("customer_features", sa.Column("debt_ratio_rises", sa.Integer(), nullable=True))
    for rule_id, name, condition, severity in RULES:
        op.execute(
            sa.text(
                "INSERT INTO rules (rule_id, name, subject_type, condition, severity, dedup_window_days)"
                " VALUES (:rule_id, :name, 'customer', CAST(:condition AS jsonb), :severity, 30)"
                " ON CONFLICT (rule_id) DO NOTHING"
            ).bindparams(rule_id=rule_id, name=name, condition=json.dumps(condition), severity=severity)
        )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM rules WHERE rule_id = 'debt-ratio-rising-2'"))
    op.drop_column("customer_features", "debt_ratio_rises")
