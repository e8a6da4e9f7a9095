"""Column factories the services' tables and their Alembic migrations share (sa.Column serves both)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

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
