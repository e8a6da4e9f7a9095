"""risk-alert's tables of fund-use tracking (on the service's one metadata)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from postloan_common.migrations_schema import MONEY, id_column, timestamp_column
from postloan_risk_alert.store.tables import metadata

# Fund-use tracking (issue 15). What the borrower said the loan is for, from loan-registered.
loan_purposes = sa.Table(
    "loan_purposes",
    metadata,
    id_column("loan_id", primary_key=True),
    sa.Column("purpose", sa.String(32), nullable=False),
)

# Money that moved out of or into a loan's disbursement account (fund-moved, POST /v1/fund-flows).
fund_flows = sa.Table(
    "fund_flows",
    metadata,
    id_column("flow_id", primary_key=True),
    id_column("loan_id"),
    sa.Column("occurred_on", sa.Date, nullable=False),
    sa.Column("direction", sa.String(3), nullable=False),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("counterparty_name", sa.String(200), nullable=False),
    sa.Column("counterparty_account", sa.String(64), nullable=True),
    sa.Column("counterparty_bank", sa.String(200), nullable=True),
    sa.Column("counterparty_kind", sa.String(32), nullable=False),
    sa.Column("category", sa.String(32), nullable=True),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Index("ix_fund_flows_loan_id_occurred_on", "loan_id", "occurred_on"),
)

# Running totals per loan, direction, counterparty kind and category ('' for none), kept on ingest
# so the trace of a loan reads a few rows instead of re-reading its flows.
fund_flow_totals = sa.Table(
    "fund_flow_totals",
    metadata,
    id_column("loan_id"),
    sa.Column("direction", sa.String(3), nullable=False),
    sa.Column("counterparty_kind", sa.String(32), nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("flows", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("loan_id", "direction", "counterparty_kind", "category", name="pk_fund_flow_totals"),
)

# Fund-use policy per loan purpose (GET|PUT /v1/fund-use-policies/{purpose}); absent: the defaults.
fund_use_policies = sa.Table(
    "fund_use_policies",
    metadata,
    sa.Column("purpose", sa.String(32), primary_key=True),
    sa.Column("policy", JSONB, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
    timestamp_column("updated_at"),
)

# The fund-use findings of each loan, one per rule, with the flows that caused them and the alert raised.
fund_use_flags = sa.Table(
    "fund_use_flags",
    metadata,
    id_column("loan_id"),
    sa.Column("rule", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("flow_ids", ARRAY(sa.String(64)), nullable=False),
    sa.Column("raised_on", sa.Date, nullable=False),
    id_column("alert_id", nullable=True),
    sa.PrimaryKeyConstraint("loan_id", "rule", name="pk_fund_use_flags"),
    sa.Index("ix_fund_use_flags_raised_on", "raised_on", "loan_id", "rule"),
)
