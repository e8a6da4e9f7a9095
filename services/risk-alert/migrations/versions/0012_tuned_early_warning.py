"""tuned early warning: rules may resolve on a condition of their own (hysteresis); score-jump and first-payment-default

Measured on the simulation's ground truth (BENCHMARKS.md, "Early warning on the simulation's ground
truth"): the shipped `score-jump` (score fell >= 50 points since the last close) fired on most of the
book. A first missed installment doubles the odds of a new loan (score 691 -> 584) even when it is paid
a day later, and the alert resolved the next close (the one-day drop was gone) to be raised again
a week later. Tuned on seeds 1-3, measured on seeds the tuning did not see:
- `score-jump` fires only when the drop lands at a PD of 0.2 or more (grade E of the default grades)
  and stays open until the PD is back under 0.1;
- `first-payment-default`: 20 days past due and nothing paid since disbursement (the simulator's and
  the industry's strongest early sign), open until the loan is current again;
- `repeat-miss-20dpd`: 20 days past due with an earlier installment missed too (borrowers whose
  payments slip before they stop), open until the loan is current again.
A rule the bank has edited since its migration (updated_by is no longer the migration) is left alone.
"""

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"

SCORE_JUMP_BEFORE = {
    "name": "Score fell by 50 points or more",
    "condition": {"feature": "score_drop", "op": ">=", "value": 50},
    "resolve_condition": None,
}
SCORE_JUMP = {
    "name": "Score fell by 50 points or more to a PD of 20 % or more",
    "condition": {
        "all": [
            {"feature": "score_drop", "op": ">=", "value": 50},
            {"feature": "pd", "op": ">=", "value": 0.2},
        ]
    },
    "resolve_condition": {"feature": "pd", "op": "<", "value": 0.1},
}
FIRST_PAYMENT_DEFAULT = {
    "rule_id": "first-payment-default",
    "name": "20 or more days past due with nothing paid since disbursement",
    "subject_type": "loan",
    "condition": {
        "all": [
            {"feature": "dpd", "op": ">=", "value": 20},
            {"feature": "paid_due_ratio", "op": "<", "value": 0.05},
        ]
    },
    "resolve_condition": {"feature": "dpd", "op": "==", "value": 0},
    "severity": "medium",
    "dedup_window_days": 30,
}
REPEAT_MISS = {
    "rule_id": "repeat-miss-20dpd",
    "name": "20 or more days past due with an earlier installment missed too",
    "subject_type": "loan",
    "condition": {
        "all": [
            {"feature": "dpd", "op": ">=", "value": 20},
            {"feature": "missed_count", "op": ">=", "value": 2},
        ]
    },
    "resolve_condition": {"feature": "dpd", "op": "==", "value": 0},
    "severity": "medium",
    "dedup_window_days": 30,
}
NEW_RULES = (FIRST_PAYMENT_DEFAULT, REPEAT_MISS)


def _set_score_jump(definition: dict, *, was: str, by: str) -> None:
    op.execute(
        sa.text(
            "UPDATE rules SET name = :name, description = :name, condition = CAST(:condition AS jsonb),"
            " resolve_condition = CAST(:resolve AS jsonb), version = version + 1, updated_by = :by, updated_at = now()"
            " WHERE rule_id = 'score-jump' AND updated_by = :was"
        ).bindparams(
            name=definition["name"],
            condition=json.dumps(definition["condition"]),
            resolve=None if definition["resolve_condition"] is None else json.dumps(definition["resolve_condition"]),
            by=by,
            was=was,
        )
    )


def upgrade() -> None:
    op.add_column("rules", sa.Column("resolve_condition", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    _set_score_jump(SCORE_JUMP, was="migration-0002", by="migration-0012")
    for rule in NEW_RULES:
        _insert(rule)


def _insert(rule: dict) -> None:
    op.execute(
        sa.text(
            "INSERT INTO rules (rule_id, name, description, subject_type, condition, resolve_condition, severity,"
            " dedup_window_days, updated_by) VALUES (:rule_id, :name, :name, :subject_type, CAST(:condition AS jsonb),"
            " CAST(:resolve AS jsonb), :severity, :window, 'migration-0012') ON CONFLICT (rule_id) DO NOTHING"
        ).bindparams(
            rule_id=rule["rule_id"],
            name=rule["name"],
            subject_type=rule["subject_type"],
            condition=json.dumps(rule["condition"]),
            resolve=json.dumps(rule["resolve_condition"]),
            severity=rule["severity"],
            window=rule["dedup_window_days"],
        )
    )


def downgrade() -> None:
    for rule in NEW_RULES:
        op.execute(
            sa.text("DELETE FROM rules WHERE rule_id = :rule_id AND updated_by = 'migration-0012'").bindparams(
                rule_id=rule["rule_id"]
            )
        )
    _set_score_jump(SCORE_JUMP_BEFORE, was="migration-0012", by="migration-0002")
    op.drop_column("rules", "resolve_condition")
