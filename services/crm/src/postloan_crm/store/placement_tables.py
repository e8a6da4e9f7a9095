"""The crm tables of outside collection agencies and the cases placed with them (issue 16 item 4)."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, DateTime, Index, Numeric, String, Table
from sqlalchemy import text as sql_text

from postloan_crm.store.tables import ID, _stamps, metadata

# A commission rate is a fraction of what the agency recovers: 0.2500 is 25 %.
RATE = Numeric(5, 4)

agencies = Table(
    "agencies",
    metadata,
    CheckConstraint("commission_rate >= 0 AND commission_rate <= 1", name="commission_rate_fraction"),
    Column("agency_id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("commission_rate", RATE, nullable=False),
    Column("active", Boolean, nullable=False, server_default=sql_text("true")),
    *_stamps(),
)

placements = Table(
    "placements",
    metadata,
    Column("placement_id", ID, primary_key=True),
    *(Column(name, ID, nullable=False) for name in ("case_id", "customer_id", "loan_id", "agency_id")),
    Column("commission_rate", RATE, nullable=False),  # the agency's rate when the case was placed
    Column("status", String(16), nullable=False),  # active | recalled
    Column("placed_by", String(200), nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
    Column("recalled_by", String(200), nullable=True),
    Column("recalled_at", DateTime(timezone=True), nullable=True),
    *_stamps(),
    CheckConstraint("status IN ('active', 'recalled')", name="status_known"),
    # A case is with one agency at a time.
    Index("uq_placements_active_case", "case_id", unique=True, postgresql_where=sql_text("status = 'active'")),
    Index("ix_placements_active_agency", "agency_id", postgresql_where=sql_text("status = 'active'")),
    Index("ix_placements_case_id", "case_id"),
)
