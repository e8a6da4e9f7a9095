"""The repayment-monitor database schema."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from postloan_common.audit import audit_log_table
from postloan_common.db import new_metadata
from postloan_common.messaging.tables import add_messaging_tables
from postloan_common.migrations_schema import MONEY, id_column, identity_column, timestamp_column

metadata = new_metadata()

outbox, inbox = add_messaging_tables(metadata)


business_calendar = sa.Table(
    "business_calendar",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("business_date", sa.Date, nullable=False),
    timestamp_column("updated_at"),
    sa.CheckConstraint("id = 1", name="single_row"),
)

closed_days = sa.Table(
    "closed_days",
    metadata,
    sa.Column("business_date", sa.Date, primary_key=True),
    timestamp_column("closed_at"),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("stats", JSONB, nullable=False),
)

# The exceptions to the weekly pattern of the weekend days (settings): a holiday is never a business
# day, a working day is a weekend day that is one (domain.business_days.DayKind).
calendar_days = sa.Table(
    "calendar_days",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, server_default=""),
    sa.Column("kind", sa.String(16), nullable=False, server_default="holiday"),
    timestamp_column("updated_at"),
    sa.Column("updated_by", sa.String(200), nullable=True),
    sa.CheckConstraint("kind IN ('holiday', 'working_day')", name="kind"),
)

products = sa.Table(
    "products",
    metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("waterfall", sa.String(32), nullable=False),
    sa.Column("component_order", ARRAY(sa.String(16)), nullable=False),
    sa.Column("penalty_annual_rate", sa.Numeric(12, 6), nullable=True),
    sa.Column("penalty_multiplier", sa.Numeric(8, 4), nullable=False),
    sa.Column("grace_days", sa.Integer, nullable=False),
    sa.Column("overpayment", sa.String(16), nullable=False),
    sa.Column("due_offsets", ARRAY(sa.Integer), nullable=False),
    sa.Column("shift_due_dates", sa.Boolean, nullable=False, server_default=sa.text("false")),
    timestamp_column("updated_at"),
    sa.Column("updated_by", sa.String(200), nullable=True),
)

loans = sa.Table(
    "loans",
    metadata,
    id_column("loan_id", primary_key=True),
    id_column("customer_id"),
    sa.Column("product", sa.String(64), nullable=False),
    sa.Column("branch", sa.String(64), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("principal", MONEY, nullable=False),
    sa.Column("annual_rate", sa.Numeric(12, 6), nullable=False),
    sa.Column("disbursed_on", sa.Date, nullable=False),
    # Snapshot of the product's terms at booking: contract terms do not move with later product edits.
    sa.Column("penalty_rate", sa.Numeric(12, 6), nullable=False),
    sa.Column("grace_days", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("booked_via", sa.String(16), nullable=False),
    # Derived state, rewritten whenever a repayment, reversal or close of day changes it.
    sa.Column("oldest_unpaid_due", sa.Date, nullable=True),
    sa.Column("bucket", sa.String(8), nullable=False, server_default="M0"),
    sa.Column("outstanding_principal", MONEY, nullable=False),
    sa.Column("credit_balance", MONEY, nullable=False, server_default=sa.text("0")),
    sa.Column("closed_on", sa.Date, nullable=True),
    timestamp_column("created_at"),
    timestamp_column("updated_at"),
    # The latest restructuring's date; NULL for a loan never restructured (its replay needs no history).
    sa.Column("restructured_on", sa.Date, nullable=True),
    # What the borrower said the loan is for (contracts LoanPurpose); NULL when core banking did not say.
    sa.Column("purpose", sa.String(32), nullable=True),
    sa.Index("ix_loans_oldest_unpaid_due", "oldest_unpaid_due", postgresql_where=sa.text("status = 'active'")),
    sa.Index("ix_loans_customer_id", "customer_id"),
    sa.Index("ix_loans_bucket_loan_id", "bucket", "loan_id", postgresql_where=sa.text("status = 'active'")),
)

installments = sa.Table(
    "installments",
    metadata,
    # No foreign key to loans: installments are only ever written with their loan, in the same
    # transaction (intake and bulk intake), and the per-row check was half the cost of loading a
    # 12M-installment portfolio.
    id_column("loan_id"),
    sa.Column("seq", sa.Integer, nullable=False),
    # The day the installment falls due: its contractual date, or the next business day after it for
    # a product that shifts due dates (domain.business_days). Everything dated reads this one.
    sa.Column("due_date", sa.Date, nullable=False),
    # The contract's due date when due_date was shifted off it; NULL when the two are the same.
    sa.Column("contract_due_date", sa.Date, nullable=True),
    # due_date + the loan's grace days: the day at whose close an unpaid installment is missed.
    sa.Column("grace_ends_on", sa.Date, nullable=False),
    sa.Column("principal", MONEY, nullable=False),
    sa.Column("interest", MONEY, nullable=False),
    sa.Column("fee", MONEY, nullable=False),
    sa.Column("paid_principal", MONEY, nullable=False, server_default=sa.text("0")),
    sa.Column("paid_interest", MONEY, nullable=False, server_default=sa.text("0")),
    sa.Column("paid_fee", MONEY, nullable=False, server_default=sa.text("0")),
    sa.Column("paid_penalty", MONEY, nullable=False, server_default=sa.text("0")),
    # Penalty accrued (unrounded) through penalty_as_of; later days are derived from the open principal.
    sa.Column("penalty_accrued", sa.Numeric(24, 10), nullable=False, server_default=sa.text("0")),
    sa.Column("penalty_as_of", sa.Date, nullable=True),
    sa.Column("settled_on", sa.Date, nullable=True),
    sa.PrimaryKeyConstraint("loan_id", "seq", name="pk_installments"),
    sa.Index("ix_installments_open_due_date", "due_date", postgresql_where=sa.text("settled_on IS NULL")),
    sa.Index("ix_installments_open_grace_ends_on", "grace_ends_on", postgresql_where=sa.text("settled_on IS NULL")),
)

restructurings = sa.Table(
    "restructurings",
    metadata,
    id_column("restructure_id", primary_key=True),
    sa.Column("loan_id", sa.String(64), sa.ForeignKey("loans.loan_id", ondelete="CASCADE"), nullable=False),
    sa.Column("restructured_on", sa.Date, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("outstanding_principal", MONEY, nullable=False),
    # Contract and penalty rates of the new installments, and the penalty rate of those replaced.
    sa.Column("annual_rate", sa.Numeric(12, 6), nullable=False),
    sa.Column("penalty_rate", sa.Numeric(12, 6), nullable=False),
    sa.Column("replaced_penalty_rate", sa.Numeric(12, 6), nullable=False),
    # The new installments are seq first_seq … first_seq + installment_count - 1 in installments.
    sa.Column("first_seq", sa.Integer, nullable=False),
    sa.Column("installment_count", sa.Integer, nullable=False),
    # Repayments valued on restructured_on with a posting_seq up to this one precede the restructuring.
    sa.Column("after_posting_seq", sa.BigInteger, nullable=False),
    sa.Column("posted_on", sa.Date, nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("result", JSONB, nullable=False),
    timestamp_column("created_at"),
    sa.UniqueConstraint("loan_id", "restructured_on", name="uq_restructurings_loan_id_restructured_on"),
)

# Installments a restructuring replaced, moved out of installments (which holds only the schedule in
# force, so close of day and the queries cannot count them), as they stood when replaced.
replaced_installments = sa.Table(
    "replaced_installments",
    metadata,
    id_column("loan_id"),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column(
        "restructure_id",
        sa.String(64),
        sa.ForeignKey("restructurings.restructure_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("principal", MONEY, nullable=False),
    sa.Column("interest", MONEY, nullable=False),
    sa.Column("fee", MONEY, nullable=False),
    sa.Column("paid_principal", MONEY, nullable=False),
    sa.Column("paid_interest", MONEY, nullable=False),
    sa.Column("paid_fee", MONEY, nullable=False),
    sa.Column("paid_penalty", MONEY, nullable=False),
    # Penalty accrued through the restructuring day; what of it was unpaid was waived.
    sa.Column("penalty", MONEY, nullable=False),
    sa.Column("settled_on", sa.Date, nullable=True),
    sa.PrimaryKeyConstraint("loan_id", "seq", name="pk_replaced_installments"),
)

repayments = sa.Table(
    "repayments",
    metadata,
    id_column("repayment_id", primary_key=True),
    sa.Column("loan_id", sa.String(64), sa.ForeignKey("loans.loan_id", ondelete="CASCADE"), nullable=False),
    sa.Column("posting_seq", sa.BigInteger, sa.Identity(always=True), nullable=False, unique=True),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("value_date", sa.Date, nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("posted_on", sa.Date, nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="posted"),
    sa.Column("result", JSONB, nullable=False),
    sa.Column("reversed_on", sa.Date, nullable=True),
    sa.Column("reversal_reason", sa.Text, nullable=True),
    sa.Column("reversal_result", JSONB, nullable=True),
    timestamp_column("created_at"),
    sa.Index("ix_repayments_loan_id", "loan_id"),
)

allocations = sa.Table(
    "allocations",
    metadata,
    sa.Column(
        "repayment_id", sa.String(64), sa.ForeignKey("repayments.repayment_id", ondelete="CASCADE"), nullable=False
    ),
    id_column("loan_id"),
    sa.Column("seq", sa.Integer, nullable=False),  # 0 for a credit balance
    sa.Column("component", sa.String(16), nullable=False),
    sa.Column("amount", MONEY, nullable=False),
    sa.PrimaryKeyConstraint("repayment_id", "seq", "component", name="pk_allocations"),
    sa.Index("ix_allocations_loan_id", "loan_id"),
)

loan_events = sa.Table(
    "loan_events",
    metadata,
    identity_column("id", primary_key=True),
    id_column("loan_id"),
    sa.Column("event_id", UUID(as_uuid=True), nullable=False),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("business_date", sa.Date, nullable=True),
    timestamp_column("occurred_at"),
    sa.Column("data", JSONB, nullable=False),
    sa.Index("ix_loan_events_loan_id_id", "loan_id", "id"),
)

bulk_jobs = sa.Table(
    "bulk_jobs",
    metadata,
    id_column("job_id", primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("format", sa.String(8), nullable=False),
    sa.Column("submitted_by", sa.String(200), nullable=False),
    sa.Column("total", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("loaded", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("unchanged", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("rejected", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("errors", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    timestamp_column("created_at"),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    # The job's last progress (each chunk's counters): a running job silent for long has no process.
    timestamp_column("updated_at"),
)

audit_log = audit_log_table(metadata)
