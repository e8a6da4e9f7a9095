"""risk-alert's tables of fund-use tracking (on the service's one metadata)."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Index, Integer, PrimaryKeyConstraint, String, Table, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from postloan_risk_alert.store.tables import MONEY, metadata

# Fund-use tracking (issue 15). What the borrower said the loan is for, from loan-registered.
loan_purposes = Table(
    "loan_purposes",
    metadata,
    Column("loan_id", String(64), primary_key=True),
    Column("purpose", String(32), nullable=False),
)

# Money that moved out of or into a loan's disbursement account (fund-moved, POST /v1/fund-flows).
fund_flows = Table(
    "fund_flows",
    metadata,
    Column("flow_id", String(64), primary_key=True),
    Column("loan_id", String(64), nullable=False),
    Column("occurred_on", Date, nullable=False),
    Column("direction", String(3), nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("counterparty_name", String(200), nullable=False),
    Column("counterparty_account", String(64), nullable=True),
    Column("counterparty_bank", String(200), nullable=True),
    Column("counterparty_kind", String(32), nullable=False),
    Column("category", String(32), nullable=True),
    Column("channel", String(64), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Index("ix_fund_flows_loan_id_occurred_on", "loan_id", "occurred_on"),
)

# Running totals per loan, direction, counterparty kind and category ('' for none), kept on ingest
# so the trace of a loan reads a few rows instead of re-reading its flows.
fund_flow_totals = Table(
    "fund_flow_totals",
    metadata,
    Column("loan_id", String(64), nullable=False),
    Column("direction", String(3), nullable=False),
    Column("counterparty_kind", String(32), nullable=False),
    Column("category", String(32), nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("flows", Integer, nullable=False),
    PrimaryKeyConstraint("loan_id", "direction", "counterparty_kind", "category", name="pk_fund_flow_totals"),
)

# Fund-use policy per loan purpose (GET|PUT /v1/fund-use-policies/{purpose}); absent: the defaults.
fund_use_policies = Table(
    "fund_use_policies",
    metadata,
    Column("purpose", String(32), primary_key=True),
    Column("policy", JSONB, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# The fund-use findings of each loan, one per rule, with the flows that caused them and the alert raised.
fund_use_flags = Table(
    "fund_use_flags",
    metadata,
    Column("loan_id", String(64), nullable=False),
    Column("rule", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("flow_ids", ARRAY(String(64)), nullable=False),
    Column("raised_on", Date, nullable=False),
    Column("alert_id", String(64), nullable=True),
    PrimaryKeyConstraint("loan_id", "rule", name="pk_fund_use_flags"),
    Index("ix_fund_use_flags_raised_on", "raised_on", "loan_id", "rule"),
)
