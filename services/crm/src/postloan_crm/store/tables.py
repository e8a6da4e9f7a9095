"""The crm database schema."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from postloan_common.audit import audit_log_table
from postloan_common.db import new_metadata
from postloan_common.messaging.tables import add_messaging_tables
from postloan_common.migrations_schema import (
    MONEY,
    created_updated_columns,
    identity_column,
    jsonb_object_column,
    timestamp_column,
)

metadata = new_metadata()

outbox, inbox = add_messaging_tables(metadata)

ID = sa.String(64)


def _stamps() -> list[sa.Column]:
    return [
        timestamp_column("created_at"),
        timestamp_column("updated_at"),
    ]


customers = sa.Table(
    "customers",
    metadata,
    sa.Column("customer_id", ID, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("national_id", sa.String(64), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    # Which contact rules apply (CN default, US profile); derived from the address country unless given.
    sa.Column("jurisdiction", sa.String(2), nullable=False, server_default="CN"),
    sa.Column("segment", sa.String(16), nullable=True),
    sa.Column("birth_date", sa.Date, nullable=True),
    sa.Column("preferred_channel", sa.String(16), nullable=True),
    sa.Column("address", JSONB, nullable=True),
    sa.Column("source", sa.String(16), nullable=False),  # event | rest
    *created_updated_columns(),
)

contact_points = sa.Table(
    "contact_points",
    metadata,
    identity_column("id", primary_key=True),
    sa.Column("customer_id", ID, sa.ForeignKey("customers.customer_id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),  # phone | email
    sa.Column("value", sa.String(254), nullable=False),
    sa.Column("label", sa.String(16), nullable=True),  # mobile, home, work …
    sa.Column("position", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.UniqueConstraint("customer_id", "kind", "value", name="uq_contact_points_customer_kind_value"),
)

consents = sa.Table(
    "consents",
    metadata,
    sa.Column("customer_id", ID, sa.ForeignKey("customers.customer_id", ondelete="CASCADE"), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("purpose", sa.String(32), nullable=False),  # collection | care | marketing
    sa.Column("granted", sa.Boolean, nullable=False),
    sa.Column("recorded_on", sa.Date, nullable=True),
    timestamp_column("updated_at"),
    sa.PrimaryKeyConstraint("customer_id", "channel", "purpose", name="pk_consents"),
)

related_parties = sa.Table(
    "related_parties",
    metadata,
    identity_column("id", primary_key=True),
    sa.Column("customer_id", ID, sa.ForeignKey("customers.customer_id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("relation", sa.String(32), nullable=False),
    sa.Column("party_customer_id", ID, nullable=True),
    sa.Column("phones", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Index("ix_related_parties_customer_id", "customer_id"),
)

# Projection of repayment.loans: what crm knows of each loan.
loans = sa.Table(
    "loans",
    metadata,
    sa.Column("loan_id", ID, primary_key=True),
    sa.Column("customer_id", ID, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("product", sa.String(64), nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Column("principal", MONEY, nullable=True),
    sa.Column("dpd", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("bucket", sa.String(8), nullable=False, server_default="M0"),
    sa.Column("overdue", MONEY, nullable=False, server_default=sa.text("0")),
    sa.Column("outstanding", MONEY, nullable=True),
    sa.Column("next_due_date", sa.Date, nullable=True),
    sa.Column("next_due_amount", MONEY, nullable=True),
    sa.Column("maturity_date", sa.Date, nullable=True),
    sa.Column("closed_on", sa.Date, nullable=True),
    sa.Column("as_of", sa.Date, nullable=True),
    timestamp_column("updated_at"),
    sa.Index("ix_loans_customer_id", "customer_id"),
)

# Installments crm was told are due (payment-due), and whether payments since have covered them.
installments_due = sa.Table(
    "installments_due",
    metadata,
    sa.Column("loan_id", ID, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("customer_id", ID, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("amount_due", MONEY, nullable=False),
    sa.Column("amount_paid", MONEY, nullable=False, server_default=sa.text("0")),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("payment_reference", sa.String(64), nullable=False),
    sa.Column("paid_on", sa.Date, nullable=True),
    sa.PrimaryKeyConstraint("loan_id", "seq", name="pk_installments_due"),
)

# Projection of risk.scores: the latest assessment per loan.
risk = sa.Table(
    "risk",
    metadata,
    sa.Column("loan_id", ID, primary_key=True),
    sa.Column("customer_id", ID, nullable=False),
    sa.Column("score", sa.Integer, nullable=True),
    sa.Column("pd", sa.Numeric(12, 8), nullable=True),
    sa.Column("grade", sa.String(8), nullable=True),
    sa.Column("model_version", sa.String(64), nullable=True),
    sa.Column("reason_codes", ARRAY(sa.String(64)), nullable=True),
    sa.Column("classification", sa.String(32), nullable=True),
    sa.Column("ifrs9_stage", sa.Integer, nullable=True),
    sa.Column("ecl", MONEY, nullable=True),
    timestamp_column("updated_at"),
    sa.Index("ix_risk_customer_id", "customer_id"),
)

communications = sa.Table(
    "communications",
    metadata,
    sa.Column("communication_id", ID, primary_key=True),
    sa.Column("customer_id", ID, nullable=False),
    sa.Column("loan_id", ID, nullable=True),
    sa.Column("case_id", ID, nullable=True),
    sa.Column("kind", sa.String(16), nullable=False, server_default="reminder"),
    sa.Column("channel", sa.String(16), nullable=True),
    sa.Column("recipient", sa.String(254), nullable=True),
    sa.Column("template", sa.String(64), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("subject", sa.String(300), nullable=True),
    sa.Column("body", sa.Text, nullable=False),
    # queued | deferred | sent | failed | suppressed
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(200), nullable=True),
    sa.Column("send_after", sa.DateTime(timezone=True), nullable=False),
    sa.Column("was_deferred", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("provider_message_id", sa.String(200), nullable=True),
    sa.Column("installment_seq", sa.Integer, nullable=True),
    sa.Column("due_date", sa.Date, nullable=True),
    sa.Column("amount_due", MONEY, nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Column("payment_reference", sa.String(64), nullable=True),
    # The DPD offset of the ladder step a dunning message was planned for.
    sa.Column("step", sa.Integer, nullable=True),
    # The event that asked for it: a redelivered payment-due makes no second reminder.
    sa.Column("source_event_id", sa.String(64), nullable=True, unique=True),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    *created_updated_columns(),
    sa.CheckConstraint(
        "status IN ('queued', 'deferred', 'sent', 'failed', 'suppressed')",
        name="status_known",
    ),
    sa.Index("ix_communications_due", "send_after", postgresql_where=sa.text("status IN ('queued', 'deferred')")),
    sa.Index("ix_communications_customer_id_created_at", "customer_id", "created_at"),
    sa.Index("ix_communications_dunning_case", "case_id", "step", postgresql_where=sa.text("kind = 'dunning'")),
)

# Stored dunning ladders override the defaults of docs/domain.md per (queue, bucket); bucket '*' is every bucket.
dunning_ladders = sa.Table(
    "dunning_ladders",
    metadata,
    sa.Column("queue", sa.String(16), nullable=False),
    sa.Column("bucket", sa.String(8), nullable=False),
    sa.Column("steps", JSONB, nullable=False),
    timestamp_column("updated_at"),
    sa.Column("updated_by", sa.String(200), nullable=True),
    sa.PrimaryKeyConstraint("queue", "bucket", name="pk_dunning_ladders"),
)

contact_policies = sa.Table(
    "contact_policies",
    metadata,
    sa.Column("jurisdiction", sa.String(2), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("quiet_start", sa.Time, nullable=True),
    sa.Column("quiet_end", sa.Time, nullable=True),
    sa.Column("max_per_day", sa.Integer, nullable=True),
    sa.Column("max_per_window", sa.Integer, nullable=True),
    sa.Column("window_days", sa.Integer, nullable=False, server_default=sa.text("7")),
    sa.Column("counting", sa.String(16), nullable=False, server_default="attempts"),
    timestamp_column("updated_at"),
    sa.Column("updated_by", sa.String(200), nullable=True),
    sa.PrimaryKeyConstraint("jurisdiction", "channel", name="pk_contact_policies"),
)

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("agent_id", ID, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("queues", ARRAY(sa.String(16)), nullable=False),
    sa.Column("capacity", sa.Integer, nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
    sa.Column("team", ID, nullable=True),
    *created_updated_columns(),
    sa.Index("ix_agents_team", "team"),
)

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("case_id", ID, primary_key=True),
    sa.Column("loan_id", ID, nullable=False),
    sa.Column("customer_id", ID, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),  # open | closed
    sa.Column("queue", sa.String(16), nullable=False),
    sa.Column("bucket", sa.String(8), nullable=False),
    sa.Column("dpd", sa.Integer, nullable=False),
    sa.Column("overdue_amount", MONEY, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("assignee", ID, nullable=True),
    sa.Column("opened_on", sa.Date, nullable=False),
    sa.Column("closed_on", sa.Date, nullable=True),
    sa.Column("close_reason", sa.String(32), nullable=True),
    sa.Column("amount_collected", MONEY, nullable=False, server_default=sa.text("0")),
    # The strategy experiment and arm the case was given when it opened, kept for its life (none: no experiment).
    sa.Column("experiment", ID, nullable=True),
    sa.Column("experiment_version", sa.Integer, nullable=True),
    sa.Column("arm", sa.String(32), nullable=True),
    sa.Column("arm_role", sa.String(16), nullable=True),
    *created_updated_columns(),
    # One open collection case per loan.
    sa.Index("uq_cases_open_loan", "loan_id", unique=True, postgresql_where=sa.text("status = 'open'")),
    sa.Index("ix_cases_status_queue_case_id", "status", "queue", "case_id"),
    sa.Index("ix_cases_assignee", "assignee", postgresql_where=sa.text("status = 'open'")),
    sa.Index("ix_cases_customer_id", "customer_id"),
)

case_events = sa.Table(
    "case_events",
    metadata,
    identity_column("id", primary_key=True),
    sa.Column("case_id", ID, sa.ForeignKey("cases.case_id", ondelete="CASCADE"), nullable=False),
    timestamp_column("at"),
    sa.Column("business_date", sa.Date, nullable=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(200), nullable=True),
    jsonb_object_column("details"),
    sa.Index("ix_case_events_case_id_id", "case_id", "id"),
)

interactions = sa.Table(
    "interactions",
    metadata,
    sa.Column("interaction_id", ID, primary_key=True),
    sa.Column("customer_id", ID, nullable=False),
    sa.Column("case_id", ID, nullable=True),
    sa.Column("loan_id", ID, nullable=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("direction", sa.String(8), nullable=False),  # outbound | inbound
    sa.Column("party", sa.String(16), nullable=False),  # debtor | third_party
    sa.Column("connected", sa.Boolean, nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("agent_id", sa.String(200), nullable=True),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    # A callback: when the collector means to act on the case next.
    sa.Column("next_action_at", sa.DateTime(timezone=True), nullable=True),
    timestamp_column("created_at"),
    sa.Index("ix_interactions_customer_id_occurred_at", "customer_id", "occurred_at"),
    sa.Index("ix_interactions_case_id_occurred_at", "case_id", "occurred_at"),
)

promises = sa.Table(
    "promises",
    metadata,
    sa.Column("promise_id", ID, primary_key=True),
    sa.Column("case_id", ID, nullable=True),
    sa.Column("loan_id", ID, nullable=False),
    sa.Column("customer_id", ID, nullable=False),
    sa.Column("interaction_id", ID, nullable=True),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("promised_date", sa.Date, nullable=False),
    sa.Column("made_on", sa.Date, nullable=False),
    sa.Column("amount_paid", MONEY, nullable=False, server_default=sa.text("0")),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),  # open | kept | broken
    sa.Column("resolved_on", sa.Date, nullable=True),
    sa.Column("agent_id", sa.String(200), nullable=True),
    *created_updated_columns(),
    sa.Index("ix_promises_open_loan_id", "loan_id", postgresql_where=sa.text("status = 'open'")),
    sa.Index("ix_promises_case_id", "case_id"),
    sa.Index("ix_promises_open_promised_date", "promised_date", postgresql_where=sa.text("status = 'open'")),
)

care_touchpoints = sa.Table(
    "care_touchpoints",
    metadata,
    identity_column("id", primary_key=True),
    sa.Column("customer_id", ID, nullable=False),
    sa.Column("loan_id", ID, nullable=True),
    sa.Column("kind", sa.String(32), nullable=False),  # maturity | hardship_follow_up | birthday
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="planned"),  # planned | done | skipped
    sa.Column("note", sa.Text, nullable=True),
    *created_updated_columns(),
    sa.UniqueConstraint("customer_id", "kind", "due_on", name="uq_care_touchpoints_customer_kind_due_on"),
)

tickets = sa.Table(
    "tickets",
    metadata,
    sa.Column("ticket_id", ID, primary_key=True),
    sa.Column("customer_id", ID, nullable=False),
    sa.Column("loan_id", ID, nullable=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    sa.Column("owner", sa.String(200), nullable=True),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("sla_due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_by", sa.String(200), nullable=False),
    *created_updated_columns(),
    sa.Index("ix_tickets_status_sla_due_at", "status", "sla_due_at"),
    sa.Index("ix_tickets_customer_id", "customer_id"),
)

# Who read unmasked personal data, and who changed what.
audit_log = audit_log_table(metadata, subject_index=True)

# The latest business date crm has heard of (from repayment.loans), for dates the API has to stamp.
business_calendar = sa.Table(
    "business_calendar",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.CheckConstraint("id = 1", name="single_row"),
)

# Click-to-call attempts (issue 16 item 3): dialled through the CTI provider, or manual without one.
calls = sa.Table(
    "calls",
    metadata,
    sa.Column("call_id", ID, primary_key=True),
    sa.Column("case_id", ID, nullable=False),
    sa.Column("customer_id", ID, nullable=False),
    sa.Column("loan_id", ID, nullable=True),
    sa.Column("agent_id", sa.String(200), nullable=False),
    sa.Column("phone_index", sa.Integer, nullable=False),  # into the customer's phones: the client sends no number
    sa.Column("mode", sa.String(16), nullable=False),  # cti | manual
    sa.Column("status", sa.String(16), nullable=False),  # requested | dialling | failed | completed
    sa.Column("provider_call_id", sa.String(200), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("result", JSONB, nullable=True),  # as posted: a second identical post changes nothing
    sa.Column("interaction_id", ID, nullable=True),
    *created_updated_columns(),
    sa.CheckConstraint("mode IN ('cti', 'manual')", name="mode_known"),
    sa.CheckConstraint("status IN ('requested', 'dialling', 'failed', 'completed')", name="status_known"),
    sa.Index("ix_calls_case_id", "case_id"),
)
