"""The reporting database schema: an analytics store fed only by events.

Per loan: facts (what each event said) folded into state intervals; per business date: aggregates
by product, branch, vintage, bucket and classification, built once `day-closed` arrived on every
partition and rebuilt when a late or back-valued event marks them stale.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Identity,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Table,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from postloan_common.db import new_metadata
from postloan_common.messaging.tables import add_messaging_tables

metadata = new_metadata()

outbox, inbox = add_messaging_tables(metadata)

MONEY = Numeric(18, 2)
SUM = Numeric(22, 2)

loans = Table(
    "rpt_loan",
    metadata,
    Column("loan_key", BigInteger, Identity(), primary_key=True),
    Column("loan_id", String(64), nullable=False, unique=True),
    Column("customer_id", String(64)),
    Column("product", String(64)),
    Column("branch", String(64)),
    Column("currency", String(3)),
    Column("principal", MONEY),
    Column("disbursed_on", Date),
    Column("vintage", Date),  # first day of the disbursement month
    Column("registered", Boolean, nullable=False, server_default=text("false")),
)

loan_facts = Table(
    "rpt_loan_fact",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("loan_key", BigInteger, nullable=False, index=True),
    Column("seq", BigInteger, Identity(), nullable=False),  # arrival order
    Column("kind", String(20), nullable=False),
    Column("effective_date", Date, nullable=False),
    Column("business_date", Date),
    Column("dpd_anchor", Date),
    Column("outstanding_total", MONEY),
    Column("overdue", MONEY),
    Column("principal_paid", MONEY),
    Column("principal_reset", MONEY),
    Column("amount", MONEY),
    Column("repayment_id", String(64)),
    Column("class_rank", SmallInteger),
)

intervals = Table(
    "rpt_interval",
    metadata,
    Column("loan_key", BigInteger, primary_key=True),
    Column("valid_from", Date, primary_key=True),
    Column("valid_to", Date, nullable=False),
    Column("dpd_anchor", Date),
    Column("principal", MONEY, nullable=False),
    Column("outstanding_total", MONEY, nullable=False),
    Column("overdue", MONEY, nullable=False),
    Column("class_rank", SmallInteger, nullable=False),
    Column("product", String(64), nullable=False),
    Column("branch", String(64), nullable=False),
    Column("vintage", Date, nullable=False),
    Index("ix_rpt_interval_valid_from", "valid_from"),
    Index("ix_rpt_interval_valid_to", "valid_to"),
)

daily = Table(
    "rpt_daily",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("product", String(64), primary_key=True),
    Column("branch", String(64), primary_key=True),
    Column("vintage", Date, primary_key=True),
    Column("bucket", SmallInteger, primary_key=True),
    Column("class_rank", SmallInteger, primary_key=True),
    Column("loans", Integer, nullable=False),
    Column("principal", SUM, nullable=False),
    Column("outstanding_total", SUM, nullable=False),
    Column("overdue", SUM, nullable=False),
)

day_closes = Table(
    "rpt_day_close",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("partitions", Integer, nullable=False),
)

snapshots = Table(
    "rpt_snapshot",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("stale", Boolean, nullable=False, server_default=text("false")),
    Column("built_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

installments = Table(
    "rpt_installment",
    metadata,
    Column("loan_key", BigInteger, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("due_date", Date),
    Column("amount_due", MONEY),
    Column("missed", Boolean, nullable=False, server_default=text("false")),
    Column("reminded_on", Date),  # first reminder for it
    Index("ix_rpt_installment_due_date", "due_date"),
)

reminders = Table(
    "rpt_reminder",
    metadata,
    Column("reminder_id", String(64), primary_key=True),
    Column("loan_key", BigInteger),
    Column("channel", String(20), nullable=False),
    Column("business_date", Date, nullable=False),
)

cases = Table(
    "rpt_case",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("loan_key", BigInteger, nullable=False),
    Column("queue", String(20), nullable=False),
    Column("assignee", String(64)),
    Column("opened_on", Date, nullable=False),
    Column("closed_on", Date),
    Column("close_reason", String(20)),
    Column("amount_collected", MONEY),
)

contacts = Table(
    "rpt_contact",
    metadata,
    Column("interaction_id", String(64), primary_key=True),
    Column("loan_key", BigInteger),
    Column("case_id", String(64)),
    Column("agent_id", String(64)),
    Column("channel", String(20), nullable=False),
    Column("connected", Boolean, nullable=False),
    Column("right_party", Boolean, nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("business_date", Date, nullable=False, index=True),
)

promises = Table(
    "rpt_promise",
    metadata,
    Column("promise_id", String(64), primary_key=True),
    Column("loan_key", BigInteger, nullable=False),
    Column("case_id", String(64)),
    Column("agent_id", String(64)),
    Column("amount", MONEY, nullable=False),
    Column("promised_date", Date, nullable=False),
    Column("made_on", Date, nullable=False),
    Column("status", String(10), nullable=False, server_default=text("'open'")),
    Column("resolved_on", Date),
    Column("amount_paid", MONEY),
)

scores = Table(
    "rpt_score",
    metadata,
    Column("loan_key", BigInteger, primary_key=True),
    Column("score", Integer, nullable=False),
    Column("pd", Numeric(10, 8), nullable=False),
    Column("grade", String(8), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("business_date", Date),
)

alerts = Table(
    "rpt_alert",
    metadata,
    Column("alert_id", String(64), primary_key=True),
    Column("rule_id", String(64), nullable=False),
    Column("severity", String(10)),
    Column("subject_type", String(10), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("raised_on", Date),
    Column("resolved_on", Date),
    Column("resolution", String(10)),
)

# Each loan's ECL and IFRS 9 stage from classification-changed, one row per business date it changed
# (the report as of a day reads the latest row on or before it).
loan_ecl = Table(
    "rpt_loan_ecl",
    metadata,
    Column("loan_key", BigInteger, primary_key=True),
    Column("business_date", Date, primary_key=True),
    Column("ifrs9_stage", SmallInteger, nullable=False),
    Column("ecl", MONEY, nullable=False),
)

# Post-loan reviews (贷后检查) from review-due, review-overdue and review-completed.
reviews = Table(
    "rpt_review",
    metadata,
    Column("review_id", String(64), primary_key=True),
    Column("loan_key", BigInteger, nullable=False, index=True),
    Column("kind", String(10), nullable=False),
    Column("reason", String(64)),
    Column("due_on", Date),
    Column("scheduled_on", Date),
    Column("overdue_on", Date),
    Column("completed_on", Date),
    Column("worst_finding", String(10)),
    Column("recommendation", String(20)),
)

# Monthly management reports e-mailed to a list (issue 17), and a record of each month's run.
report_schedules = Table(
    "rpt_report_schedule",
    metadata,
    Column("schedule_id", String(64), primary_key=True),
    Column("recipients", ARRAY(String(254)), nullable=False),
    Column("lang", String(5), nullable=False),
    Column("format", String(4), nullable=False),
    Column("product", String(64)),
    Column("branch", String(64)),
    Column("first_month", Date, nullable=False),  # the first month reported: the one open at creation
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

report_runs = Table(
    "rpt_report_run",
    metadata,
    Column("schedule_id", String(64), primary_key=True),
    Column("month", Date, primary_key=True),  # first day of the month reported
    Column("as_of", Date, nullable=False),
    Column("status", String(10), nullable=False),  # sent, failed
    Column("attempts", Integer, nullable=False),
    Column("error", String(500)),
    Column("sent_at", DateTime(timezone=True)),
)
