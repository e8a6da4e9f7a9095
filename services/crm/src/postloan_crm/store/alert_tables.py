"""The crm tables of risk alerts: the open alerts, and the customer's timeline of alerts and reviews."""

from __future__ import annotations

import sqlalchemy as sa

from postloan_common.migrations_schema import (
    created_updated_columns,
    identity_column,
    jsonb_object_column,
    timestamp_column,
)
from postloan_crm.store.tables import ID, metadata

risk_alerts = sa.Table(
    "risk_alerts",
    metadata,
    sa.Column("alert_id", ID, primary_key=True),
    sa.Column("rule_id", ID, nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("subject_type", sa.String(16), nullable=False),  # loan | customer
    sa.Column("subject_id", ID, nullable=False),
    sa.Column("customer_id", ID, nullable=True),
    sa.Column("loan_id", ID, nullable=True),  # the subject when it is a loan
    sa.Column("status", sa.String(16), nullable=False),  # open | resolved | dismissed
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("raised_on", sa.Date, nullable=True),
    sa.Column("resolved_on", sa.Date, nullable=True),
    *created_updated_columns(),
    sa.CheckConstraint("status IN ('open', 'resolved', 'dismissed')", name="status_known"),
    sa.Index("ix_risk_alerts_open_loan", "loan_id", postgresql_where=sa.text("status = 'open'")),
    sa.Index("ix_risk_alerts_open_customer", "customer_id", postgresql_where=sa.text("status = 'open'")),
)

customer_timeline = sa.Table(
    "customer_timeline",
    metadata,
    identity_column("id", primary_key=True),
    sa.Column("customer_id", ID, nullable=False),
    sa.Column("loan_id", ID, nullable=True),
    sa.Column("kind", sa.String(32), nullable=False),  # risk_alert_raised | risk_alert_resolved | review_due
    sa.Column("ref_id", ID, nullable=False),  # the alert's or the review's id
    jsonb_object_column("details"),
    sa.Column("business_date", sa.Date, nullable=True),
    timestamp_column("at"),
    sa.Index("ix_customer_timeline_customer_id_id", "customer_id", "id"),
)
