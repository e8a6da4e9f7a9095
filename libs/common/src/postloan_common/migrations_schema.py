"""Column factories, tables and shipped rows that services' Alembic migrations write the same way."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from alembic import op

from postloan_common.columns import (
    created_updated_columns,
    id_column,
    identity_column,
    jsonb_object_column,
    money_column,
    timestamp_column,
)

__all__ = [
    "ShippedRule",
    "create_audit_log",
    "created_updated_columns",
    "delete_rules",
    "id_column",
    "identity_column",
    "insert_rules",
    "jsonb_object_column",
    "money_column",
    "timestamp_column",
]

# A rule a migration ships: its id, its name and its condition.
ShippedRule = tuple[str, str, Mapping[str, Any]]


def create_audit_log() -> None:
    """Create the `audit_log` table, the same in every service that keeps one."""
    op.create_table(
        "audit_log",
        identity_column("id"),
        timestamp_column("at"),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        jsonb_object_column("details"),
        sa.Column("correlation_id", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )


def insert_rules(rules: Iterable[ShippedRule], *, subject_type: str, severity: str, dedup_window_days: int) -> None:
    """Add shipped alert rules (id, name, condition) to `rules`, leaving any rule of that id the bank already has."""
    for rule_id, name, condition in rules:
        op.execute(
            sa.text(
                "INSERT INTO rules (rule_id, name, subject_type, condition, severity, dedup_window_days)"
                " VALUES (:rule_id, :name, :subject_type, CAST(:condition AS jsonb), :severity, :dedup_window_days)"
                " ON CONFLICT (rule_id) DO NOTHING"
            ).bindparams(
                rule_id=rule_id,
                name=name,
                subject_type=subject_type,
                condition=json.dumps(condition),
                severity=severity,
                dedup_window_days=dedup_window_days,
            )
        )


def delete_rules(rules: Iterable[ShippedRule]) -> None:
    """Remove the shipped alert rules `insert_rules` added."""
    table = sa.table("rules", sa.column("rule_id"))
    op.execute(table.delete().where(table.c.rule_id.in_([rule_id for rule_id, _, _ in rules])))
