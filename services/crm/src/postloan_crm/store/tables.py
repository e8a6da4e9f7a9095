"""The crm database schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from postloan_common.db import new_metadata
from postloan_common.messaging.tables import add_messaging_tables

metadata = new_metadata()

outbox, inbox = add_messaging_tables(metadata)

MONEY = Numeric(18, 2)
ID = String(64)


def _stamps() -> list[Column]:
    return [
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


customers = Table(
    "customers",
    metadata,
    Column("customer_id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("national_id", String(64), nullable=False),
    Column("language", String(8), nullable=False),
    Column("timezone", String(64), nullable=False),
    # Which contact rules apply (CN default, US profile); derived from the address country unless given.
    Column("jurisdiction", String(2), nullable=False, server_default="CN"),
    Column("segment", String(16), nullable=True),
    Column("birth_date", Date, nullable=True),
    Column("preferred_channel", String(16), nullable=True),
    Column("address", JSONB, nullable=True),
    Column("source", String(16), nullable=False),  # event | rest
    *_stamps(),
)

contact_points = Table(
    "contact_points",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("customer_id", ID, ForeignKey("customers.customer_id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(8), nullable=False),  # phone | email
    Column("value", String(254), nullable=False),
    Column("label", String(16), nullable=True),  # mobile, home, work …
    Column("position", Integer, nullable=False, server_default=text("0")),
    UniqueConstraint("customer_id", "kind", "value", name="uq_contact_points_customer_kind_value"),
)

consents = Table(
    "consents",
    metadata,
    Column("customer_id", ID, ForeignKey("customers.customer_id", ondelete="CASCADE"), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("purpose", String(32), nullable=False),  # collection | care | marketing
    Column("granted", Boolean, nullable=False),
    Column("recorded_on", Date, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("customer_id", "channel", "purpose", name="pk_consents"),
)

related_parties = Table(
    "related_parties",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("customer_id", ID, ForeignKey("customers.customer_id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("relation", String(32), nullable=False),
    Column("party_customer_id", ID, nullable=True),
    Column("phones", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Index("ix_related_parties_customer_id", "customer_id"),
)

# Projection of repayment.loans: what crm knows of each loan.
loans = Table(
    "loans",
    metadata,
    Column("loan_id", ID, primary_key=True),
    Column("customer_id", ID, nullable=False),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("product", String(64), nullable=True),
    Column("currency", String(3), nullable=True),
    Column("principal", MONEY, nullable=True),
    Column("dpd", Integer, nullable=False, server_default=text("0")),
    Column("bucket", String(8), nullable=False, server_default="M0"),
    Column("overdue", MONEY, nullable=False, server_default=text("0")),
    Column("outstanding", MONEY, nullable=True),
    Column("next_due_date", Date, nullable=True),
    Column("next_due_amount", MONEY, nullable=True),
    Column("maturity_date", Date, nullable=True),
    Column("closed_on", Date, nullable=True),
    Column("as_of", Date, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_loans_customer_id", "customer_id"),
)

# Installments crm was told are due (payment-due), and whether payments since have covered them.
installments_due = Table(
    "installments_due",
    metadata,
    Column("loan_id", ID, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("customer_id", ID, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("amount_due", MONEY, nullable=False),
    Column("amount_paid", MONEY, nullable=False, server_default=text("0")),
    Column("currency", String(3), nullable=False),
    Column("payment_reference", String(64), nullable=False),
    Column("paid_on", Date, nullable=True),
    PrimaryKeyConstraint("loan_id", "seq", name="pk_installments_due"),
)

# Projection of risk.scores: the latest assessment per loan.
risk = Table(
    "risk",
    metadata,
    Column("loan_id", ID, primary_key=True),
    Column("customer_id", ID, nullable=False),
    Column("score", Integer, nullable=True),
    Column("pd", Numeric(12, 8), nullable=True),
    Column("grade", String(8), nullable=True),
    Column("model_version", String(64), nullable=True),
    Column("reason_codes", ARRAY(String(64)), nullable=True),
    Column("classification", String(32), nullable=True),
    Column("ifrs9_stage", Integer, nullable=True),
    Column("ecl", MONEY, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_risk_customer_id", "customer_id"),
)

communications = Table(
    "communications",
    metadata,
    Column("communication_id", ID, primary_key=True),
    Column("customer_id", ID, nullable=False),
    Column("loan_id", ID, nullable=True),
    Column("case_id", ID, nullable=True),
    Column("kind", String(16), nullable=False, server_default="reminder"),
    Column("channel", String(16), nullable=True),
    Column("recipient", String(254), nullable=True),
    Column("template", String(64), nullable=False),
    Column("language", String(8), nullable=False),
    Column("subject", String(300), nullable=True),
    Column("body", Text, nullable=False),
    # queued | deferred | sent | failed | suppressed
    Column("status", String(16), nullable=False),
    Column("reason", String(200), nullable=True),
    Column("send_after", DateTime(timezone=True), nullable=False),
    Column("was_deferred", Boolean, nullable=False, server_default=text("false")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text, nullable=True),
    Column("provider_message_id", String(200), nullable=True),
    Column("installment_seq", Integer, nullable=True),
    Column("due_date", Date, nullable=True),
    Column("amount_due", MONEY, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("payment_reference", String(64), nullable=True),
    # The DPD offset of the ladder step a dunning message was planned for.
    Column("step", Integer, nullable=True),
    # The event that asked for it: a redelivered payment-due makes no second reminder.
    Column("source_event_id", String(64), nullable=True, unique=True),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    *_stamps(),
    CheckConstraint(
        "status IN ('queued', 'deferred', 'sent', 'failed', 'suppressed')",
        name="status_known",
    ),
    Index("ix_communications_due", "send_after", postgresql_where=text("status IN ('queued', 'deferred')")),
    Index("ix_communications_customer_id_created_at", "customer_id", "created_at"),
    Index("ix_communications_dunning_case", "case_id", "step", postgresql_where=text("kind = 'dunning'")),
)

# Stored dunning ladders override the defaults of docs/domain.md per (queue, bucket); bucket '*' is every bucket.
dunning_ladders = Table(
    "dunning_ladders",
    metadata,
    Column("queue", String(16), nullable=False),
    Column("bucket", String(8), nullable=False),
    Column("steps", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_by", String(200), nullable=True),
    PrimaryKeyConstraint("queue", "bucket", name="pk_dunning_ladders"),
)

contact_policies = Table(
    "contact_policies",
    metadata,
    Column("jurisdiction", String(2), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("quiet_start", Time, nullable=True),
    Column("quiet_end", Time, nullable=True),
    Column("max_per_day", Integer, nullable=True),
    Column("max_per_window", Integer, nullable=True),
    Column("window_days", Integer, nullable=False, server_default=text("7")),
    Column("counting", String(16), nullable=False, server_default="attempts"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_by", String(200), nullable=True),
    PrimaryKeyConstraint("jurisdiction", "channel", name="pk_contact_policies"),
)

agents = Table(
    "agents",
    metadata,
    Column("agent_id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("queues", ARRAY(String(16)), nullable=False),
    Column("capacity", Integer, nullable=True),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("team", ID, nullable=True),
    *_stamps(),
    Index("ix_agents_team", "team"),
)

cases = Table(
    "cases",
    metadata,
    Column("case_id", ID, primary_key=True),
    Column("loan_id", ID, nullable=False),
    Column("customer_id", ID, nullable=False),
    Column("status", String(16), nullable=False, server_default="open"),  # open | closed
    Column("queue", String(16), nullable=False),
    Column("bucket", String(8), nullable=False),
    Column("dpd", Integer, nullable=False),
    Column("overdue_amount", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("assignee", ID, nullable=True),
    Column("opened_on", Date, nullable=False),
    Column("closed_on", Date, nullable=True),
    Column("close_reason", String(32), nullable=True),
    Column("amount_collected", MONEY, nullable=False, server_default=text("0")),
    *_stamps(),
    # One open collection case per loan.
    Index("uq_cases_open_loan", "loan_id", unique=True, postgresql_where=text("status = 'open'")),
    Index("ix_cases_status_queue_case_id", "status", "queue", "case_id"),
    Index("ix_cases_assignee", "assignee", postgresql_where=text("status = 'open'")),
    Index("ix_cases_customer_id", "customer_id"),
)

case_events = Table(
    "case_events",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("case_id", ID, ForeignKey("cases.case_id", ondelete="CASCADE"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("business_date", Date, nullable=True),
    Column("kind", String(32), nullable=False),
    Column("actor", String(200), nullable=True),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("ix_case_events_case_id_id", "case_id", "id"),
)

interactions = Table(
    "interactions",
    metadata,
    Column("interaction_id", ID, primary_key=True),
    Column("customer_id", ID, nullable=False),
    Column("case_id", ID, nullable=True),
    Column("loan_id", ID, nullable=True),
    Column("channel", String(16), nullable=False),
    Column("direction", String(8), nullable=False),  # outbound | inbound
    Column("party", String(16), nullable=False),  # debtor | third_party
    Column("connected", Boolean, nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("note", Text, nullable=True),
    Column("agent_id", String(200), nullable=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    # A callback: when the collector means to act on the case next.
    Column("next_action_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_interactions_customer_id_occurred_at", "customer_id", "occurred_at"),
    Index("ix_interactions_case_id_occurred_at", "case_id", "occurred_at"),
)

promises = Table(
    "promises",
    metadata,
    Column("promise_id", ID, primary_key=True),
    Column("case_id", ID, nullable=True),
    Column("loan_id", ID, nullable=False),
    Column("customer_id", ID, nullable=False),
    Column("interaction_id", ID, nullable=True),
    Column("amount", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("promised_date", Date, nullable=False),
    Column("made_on", Date, nullable=False),
    Column("amount_paid", MONEY, nullable=False, server_default=text("0")),
    Column("status", String(16), nullable=False, server_default="open"),  # open | kept | broken
    Column("resolved_on", Date, nullable=True),
    Column("agent_id", String(200), nullable=True),
    *_stamps(),
    Index("ix_promises_open_loan_id", "loan_id", postgresql_where=text("status = 'open'")),
    Index("ix_promises_case_id", "case_id"),
    Index("ix_promises_open_promised_date", "promised_date", postgresql_where=text("status = 'open'")),
)

care_touchpoints = Table(
    "care_touchpoints",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("customer_id", ID, nullable=False),
    Column("loan_id", ID, nullable=True),
    Column("kind", String(32), nullable=False),  # maturity | hardship_follow_up | birthday
    Column("due_on", Date, nullable=False),
    Column("status", String(16), nullable=False, server_default="planned"),  # planned | done | skipped
    Column("note", Text, nullable=True),
    *_stamps(),
    UniqueConstraint("customer_id", "kind", "due_on", name="uq_care_touchpoints_customer_kind_due_on"),
)

tickets = Table(
    "tickets",
    metadata,
    Column("ticket_id", ID, primary_key=True),
    Column("customer_id", ID, nullable=False),
    Column("loan_id", ID, nullable=True),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("owner", String(200), nullable=True),
    Column("subject", String(200), nullable=False),
    Column("description", Text, nullable=True),
    Column("sla_due_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Column("created_by", String(200), nullable=False),
    *_stamps(),
    Index("ix_tickets_status_sla_due_at", "status", "sla_due_at"),
    Index("ix_tickets_customer_id", "customer_id"),
)

# Who read unmasked personal data, and who changed what.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("correlation_id", String(100), nullable=True),
    Index("ix_audit_log_subject_at", "subject", "at"),
)

# The latest business date crm has heard of (from repayment.loans), for dates the API has to stamp.
business_calendar = Table(
    "business_calendar",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("business_date", Date, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

# Click-to-call attempts (issue 16 item 3): dialled through the CTI provider, or manual without one.
calls = Table(
    "calls",
    metadata,
    Column("call_id", ID, primary_key=True),
    Column("case_id", ID, nullable=False),
    Column("customer_id", ID, nullable=False),
    Column("loan_id", ID, nullable=True),
    Column("agent_id", String(200), nullable=False),
    Column("phone_index", Integer, nullable=False),  # into the customer's phones: the client sends no number
    Column("mode", String(16), nullable=False),  # cti | manual
    Column("status", String(16), nullable=False),  # requested | dialling | failed | completed
    Column("provider_call_id", String(200), nullable=True),
    Column("error", Text, nullable=True),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("result", JSONB, nullable=True),  # as posted: a second identical post changes nothing
    Column("interaction_id", ID, nullable=True),
    *_stamps(),
    CheckConstraint("mode IN ('cti', 'manual')", name="mode_known"),
    CheckConstraint("status IN ('requested', 'dialling', 'failed', 'completed')", name="status_known"),
    Index("ix_calls_case_id", "case_id"),
)
