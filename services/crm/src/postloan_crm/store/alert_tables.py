"""The crm tables of risk alerts: the open alerts, and the customer's timeline of alerts and reviews."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, Date, DateTime, Identity, Index, String, Table, Text, func
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB

from postloan_crm.store.tables import ID, _stamps, metadata

risk_alerts = Table(
    "risk_alerts",
    metadata,
    Column("alert_id", ID, primary_key=True),
    Column("rule_id", ID, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("subject_type", String(16), nullable=False),  # loan | customer
    Column("subject_id", ID, nullable=False),
    Column("customer_id", ID, nullable=True),
    Column("loan_id", ID, nullable=True),  # the subject when it is a loan
    Column("status", String(16), nullable=False),  # open | resolved | dismissed
    Column("message", Text, nullable=False),
    Column("raised_on", Date, nullable=True),
    Column("resolved_on", Date, nullable=True),
    *_stamps(),
    CheckConstraint("status IN ('open', 'resolved', 'dismissed')", name="status_known"),
    Index("ix_risk_alerts_open_loan", "loan_id", postgresql_where=sql_text("status = 'open'")),
    Index("ix_risk_alerts_open_customer", "customer_id", postgresql_where=sql_text("status = 'open'")),
)

customer_timeline = Table(
    "customer_timeline",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("customer_id", ID, nullable=False),
    Column("loan_id", ID, nullable=True),
    Column("kind", String(32), nullable=False),  # risk_alert_raised | risk_alert_resolved | review_due
    Column("ref_id", ID, nullable=False),  # the alert's or the review's id
    Column("details", JSONB, nullable=False, server_default=sql_text("'{}'::jsonb")),
    Column("business_date", Date, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_customer_timeline_customer_id_id", "customer_id", "id"),
)
