"""Column factories, tables and shipped rows that services' schema modules and Alembic migrations share."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# A rule a migration ships: its id, its name and its condition.
ShippedRule = tuple[str, str, Mapping[str, Any]]

# Every amount of money: 16 digits before the point, cents after it.
MONEY = sa.Numeric(18, 2)


def id_column(name: str, *, nullable: bool = False, primary_key: bool = False) -> sa.Column[Any]:
    """Return a platform id column (loan, customer, case, alert, …): up to 64 characters."""
    return sa.Column(name, sa.String(64), nullable=nullable, primary_key=primary_key)


def money_column(name: str, *, nullable: bool = False, server_default: sa.TextClause | None = None) -> sa.Column[Any]:
    """Return an amount column: NUMERIC(18, 2)."""
    return sa.Column(name, MONEY, nullable=nullable, server_default=server_default)


def timestamp_column(name: str) -> sa.Column[Any]:
    """Return a NOT NULL timestamptz column that defaults to now()."""
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def created_updated_columns() -> tuple[sa.Column[Any], sa.Column[Any]]:
    """Return `created_at` and `updated_at`, both NOT NULL and defaulting to now()."""
    return timestamp_column("created_at"), timestamp_column("updated_at")


def identity_column(name: str, *, primary_key: bool = False) -> sa.Column[Any]:
    """Return a NOT NULL BIGINT column generated always as identity."""
    return sa.Column(name, sa.BigInteger(), sa.Identity(always=True), nullable=False, primary_key=primary_key)


def jsonb_object_column(name: str) -> sa.Column[Any]:
    """Return a NOT NULL JSONB column that defaults to the empty object."""
    return sa.Column(name, postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False)


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
