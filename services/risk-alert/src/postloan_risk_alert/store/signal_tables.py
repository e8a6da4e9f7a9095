"""risk-alert's tables of external signals and customers' industries (on the service's one metadata)."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Index, Numeric, String, Table, func
from sqlalchemy.dialects.postgresql import JSONB

from postloan_risk_alert.store.tables import metadata

# Signals from outside the bank (external-signal, POST /v1/external-signals), idempotent on signal_id.
# customer_id is the customer the signal is about (a loan's borrower for subject loan; NULL for an industry).
external_signals = Table(
    "external_signals",
    metadata,
    Column("signal_id", String(64), primary_key=True),
    Column("subject", String(16), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("customer_id", String(64), nullable=True),
    Column("source", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("observed_on", Date, nullable=False),
    Column("value", Numeric(20, 6), nullable=True),
    Column("details", JSONB, nullable=True),
    Column("content_hash", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_external_signals_customer_id_observed_on", "customer_id", "observed_on"),
    Index("ix_external_signals_subject_subject_id_observed_on", "subject", "subject_id", "observed_on"),
)

# The industry of each customer, from customer-upserted (the full record: no industry there clears it).
customer_industries = Table(
    "customer_industries",
    metadata,
    Column("customer_id", String(64), primary_key=True),
    Column("industry", String(64), nullable=True),
    Index("ix_customer_industries_industry", "industry"),
)
