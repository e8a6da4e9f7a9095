"""The crm tables of risk alerts: the open alerts, and the customer's timeline of alerts and reviews."""

from __future__ import annotations

import sqlalchemy as sa

from postloan_common.columns import (
    created_updated_columns,
    id_column,
    identity_column,
    jsonb_object_column,
    timestamp_column,
)
from postloan_crm.store.tables import metadata

risk_alerts = sa.Table(
    "risk_alerts",
    metadata,
    id_column("alert_id", primary_key=True),
    id_column("rule_id"),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("subject_type", sa.String(16), nullable=False),  # loan | customer
    id_column("subject_id"),
    id_column("customer_id", nullable=True),
    id_column("loan_id", nullable=True),  # the subject when it is a loan
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
    id_column("customer_id"),
    id_column("loan_id", nullable=True),
    sa.Column("kind", sa.String(32), nullable=False),  # risk_alert_raised | risk_alert_resolved | review_due
    id_column("ref_id"),  # the alert's or the review's id
    jsonb_object_column("details"),
    sa.Column("business_date", sa.Date, nullable=True),
    timestamp_column("at"),
    sa.Index("ix_customer_timeline_customer_id_id", "customer_id", "id"),
)
