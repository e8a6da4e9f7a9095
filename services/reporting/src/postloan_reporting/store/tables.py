"""The reporting database schema: an analytics store fed only by events.

Per loan: facts (what each event said) folded into state intervals; per business date: aggregates
by product, branch, vintage, bucket and classification, built once `day-closed` arrived on every
partition and rebuilt when a late or back-valued event marks them stale.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from postloan_common.audit import audit_log_table
from postloan_common.db import new_metadata
from postloan_common.messaging.tables import add_messaging_tables
from postloan_common.migrations_schema import MONEY, id_column, timestamp_column

metadata = new_metadata()

outbox, inbox = add_messaging_tables(metadata)

SUM = sa.Numeric(22, 2)

loans = sa.Table(
    "rpt_loan",
    metadata,
    sa.Column("loan_key", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("loan_id", sa.String(64), nullable=False, unique=True),
    id_column("customer_id", nullable=True),
    sa.Column("product", sa.String(64)),
    sa.Column("branch", sa.String(64)),
    sa.Column("currency", sa.String(3)),
    sa.Column("principal", MONEY),
    sa.Column("disbursed_on", sa.Date),
    sa.Column("vintage", sa.Date),  # first day of the disbursement month
    sa.Column("registered", sa.Boolean, nullable=False, server_default=sa.text("false")),
)

loan_facts = sa.Table(
    "rpt_loan_fact",
    metadata,
    sa.Column("event_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("loan_key", sa.BigInteger, nullable=False, index=True),
    sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),  # arrival order
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("effective_date", sa.Date, nullable=False),
    sa.Column("business_date", sa.Date),
    sa.Column("dpd_anchor", sa.Date),
    sa.Column("outstanding_total", MONEY),
    sa.Column("overdue", MONEY),
    sa.Column("principal_paid", MONEY),
    sa.Column("principal_reset", MONEY),
    sa.Column("amount", MONEY),
    id_column("repayment_id", nullable=True),
    sa.Column("class_rank", sa.SmallInteger),
)

intervals = sa.Table(
    "rpt_interval",
    metadata,
    sa.Column("loan_key", sa.BigInteger, primary_key=True),
    sa.Column("valid_from", sa.Date, primary_key=True),
    sa.Column("valid_to", sa.Date, nullable=False),
    sa.Column("dpd_anchor", sa.Date),
    sa.Column("principal", MONEY, nullable=False),
    sa.Column("outstanding_total", MONEY, nullable=False),
    sa.Column("overdue", MONEY, nullable=False),
    sa.Column("class_rank", sa.SmallInteger, nullable=False),
    sa.Column("product", sa.String(64), nullable=False),
    sa.Column("branch", sa.String(64), nullable=False),
    sa.Column("vintage", sa.Date, nullable=False),
    sa.Index("ix_rpt_interval_valid_from", "valid_from"),
    sa.Index("ix_rpt_interval_valid_to", "valid_to"),
)

daily = sa.Table(
    "rpt_daily",
    metadata,
    sa.Column("business_date", sa.Date, primary_key=True),
    sa.Column("product", sa.String(64), primary_key=True),
    sa.Column("branch", sa.String(64), primary_key=True),
    sa.Column("vintage", sa.Date, primary_key=True),
    sa.Column("bucket", sa.SmallInteger, primary_key=True),
    sa.Column("class_rank", sa.SmallInteger, primary_key=True),
    sa.Column("loans", sa.Integer, nullable=False),
    sa.Column("principal", SUM, nullable=False),
    sa.Column("outstanding_total", SUM, nullable=False),
    sa.Column("overdue", SUM, nullable=False),
)

day_closes = sa.Table(
    "rpt_day_close",
    metadata,
    sa.Column("business_date", sa.Date, primary_key=True),
    sa.Column("partition", sa.Integer, primary_key=True),
    sa.Column("partitions", sa.Integer, nullable=False),
)

snapshots = sa.Table(
    "rpt_snapshot",
    metadata,
    sa.Column("business_date", sa.Date, primary_key=True),
    sa.Column("stale", sa.Boolean, nullable=False, server_default=sa.text("false")),
    timestamp_column("built_at"),
)

installments = sa.Table(
    "rpt_installment",
    metadata,
    sa.Column("loan_key", sa.BigInteger, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("due_date", sa.Date),
    sa.Column("amount_due", MONEY),
    sa.Column("missed", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("reminded_on", sa.Date),  # first reminder for it
    sa.Index("ix_rpt_installment_due_date", "due_date"),
)

reminders = sa.Table(
    "rpt_reminder",
    metadata,
    id_column("reminder_id", primary_key=True),
    sa.Column("loan_key", sa.BigInteger),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("business_date", sa.Date, nullable=False),
)

cases = sa.Table(
    "rpt_case",
    metadata,
    id_column("case_id", primary_key=True),
    sa.Column("loan_key", sa.BigInteger, nullable=False),
    sa.Column("queue", sa.String(20), nullable=False),
    sa.Column("assignee", sa.String(64)),
    sa.Column("opened_on", sa.Date, nullable=False),
    sa.Column("closed_on", sa.Date),
    sa.Column("close_reason", sa.String(20)),
    sa.Column("amount_collected", MONEY),
    # The strategy experiment and arm crm gave the case when it opened (none outside experiments).
    id_column("experiment", nullable=True),
    sa.Column("arm", sa.String(32)),
    sa.Column("arm_role", sa.String(16)),
    sa.Column("opened_dpd", sa.Integer),
    sa.Index("ix_rpt_case_experiment_opened_on", "experiment", "opened_on"),
)

contacts = sa.Table(
    "rpt_contact",
    metadata,
    id_column("interaction_id", primary_key=True),
    sa.Column("loan_key", sa.BigInteger),
    id_column("case_id", nullable=True),
    id_column("agent_id", nullable=True),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("connected", sa.Boolean, nullable=False),
    sa.Column("right_party", sa.Boolean, nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("business_date", sa.Date, nullable=False, index=True),
)

promises = sa.Table(
    "rpt_promise",
    metadata,
    id_column("promise_id", primary_key=True),
    sa.Column("loan_key", sa.BigInteger, nullable=False),
    id_column("case_id", nullable=True),
    id_column("agent_id", nullable=True),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("promised_date", sa.Date, nullable=False),
    sa.Column("made_on", sa.Date, nullable=False),
    sa.Column("status", sa.String(10), nullable=False, server_default=sa.text("'open'")),
    sa.Column("resolved_on", sa.Date),
    sa.Column("amount_paid", MONEY),
)

scores = sa.Table(
    "rpt_score",
    metadata,
    sa.Column("loan_key", sa.BigInteger, primary_key=True),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("pd", sa.Numeric(10, 8), nullable=False),
    sa.Column("grade", sa.String(8), nullable=False),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("business_date", sa.Date),
)

alerts = sa.Table(
    "rpt_alert",
    metadata,
    id_column("alert_id", primary_key=True),
    id_column("rule_id"),
    sa.Column("severity", sa.String(10)),
    sa.Column("subject_type", sa.String(10), nullable=False),
    id_column("subject_id"),
    sa.Column("raised_on", sa.Date),
    sa.Column("resolved_on", sa.Date),
    sa.Column("resolution", sa.String(10)),
)

# Each loan's ECL and IFRS 9 stage from classification-changed, one row per business date it changed
# (the report as of a day reads the latest row on or before it).
loan_ecl = sa.Table(
    "rpt_loan_ecl",
    metadata,
    sa.Column("loan_key", sa.BigInteger, primary_key=True),
    sa.Column("business_date", sa.Date, primary_key=True),
    sa.Column("ifrs9_stage", sa.SmallInteger, nullable=False),
    sa.Column("ecl", MONEY, nullable=False),
)

# Each loan's secured value (its collateral after haircut) from collateral-coverage-changed, one row per
# business date it changed (the report as of a day reads the latest row on or before it).
loan_secured = sa.Table(
    "rpt_loan_secured",
    metadata,
    sa.Column("loan_key", sa.BigInteger, primary_key=True),
    sa.Column("business_date", sa.Date, primary_key=True),
    sa.Column("secured_value", MONEY, nullable=False),
)

# Post-loan reviews (贷后检查) from review-due, review-overdue and review-completed.
reviews = sa.Table(
    "rpt_review",
    metadata,
    sa.Column("review_id", sa.String(64), primary_key=True),
    sa.Column("loan_key", sa.BigInteger, nullable=False, index=True),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("reason", sa.String(64)),
    sa.Column("due_on", sa.Date),
    sa.Column("scheduled_on", sa.Date),
    sa.Column("overdue_on", sa.Date),
    sa.Column("completed_on", sa.Date),
    sa.Column("worst_finding", sa.String(10)),
    sa.Column("recommendation", sa.String(20)),
)

# Monthly management reports e-mailed to a list (issue 17), and a record of each month's run.
report_schedules = sa.Table(
    "rpt_report_schedule",
    metadata,
    sa.Column("schedule_id", sa.String(64), primary_key=True),
    sa.Column("recipients", ARRAY(sa.String(254)), nullable=False),
    sa.Column("lang", sa.String(5), nullable=False),
    sa.Column("format", sa.String(4), nullable=False),
    sa.Column("product", sa.String(64)),
    sa.Column("branch", sa.String(64)),
    sa.Column("first_month", sa.Date, nullable=False),  # the first month reported: the one open at creation
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

report_runs = sa.Table(
    "rpt_report_run",
    metadata,
    sa.Column("schedule_id", sa.String(64), primary_key=True),
    sa.Column("month", sa.Date, primary_key=True),  # first day of the month reported
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),  # sent, failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("error", sa.String(500)),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
)

# Recoveries after write-off and agency placements (issue 16 item 4).
# A loan closed as written off; the amount is its balance in the interval ending that day.
write_offs = sa.Table(
    "rpt_write_off",
    metadata,
    sa.Column("loan_key", sa.BigInteger, primary_key=True),
    sa.Column("written_off_on", sa.Date, nullable=False),
)

# Money received on a written-off loan (recovery-received): never a fact, the loan stays closed.
recoveries = sa.Table(
    "rpt_recovery",
    metadata,
    sa.Column("repayment_id", sa.String(64), primary_key=True),
    sa.Column("loan_key", sa.BigInteger, nullable=False, index=True),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("received_on", sa.Date, nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
)

# A case placed with a collection agency (case-placed) until recalled (case-recalled); either may come first.
placements = sa.Table(
    "rpt_placement",
    metadata,
    sa.Column("placement_id", sa.String(64), primary_key=True),
    sa.Column("case_id", sa.String(64), nullable=False),
    sa.Column("loan_key", sa.BigInteger, nullable=False, index=True),
    sa.Column("agency_id", sa.String(64), nullable=False),
    sa.Column("commission_rate", sa.Numeric(10, 8)),
    sa.Column("placed_on", sa.Date),
    sa.Column("recalled_on", sa.Date),
)

# Who created or deleted a schedule (the shared audit table of every service).
audit_log = audit_log_table(metadata)
