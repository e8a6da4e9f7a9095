"""The repayment-monitor database schema."""

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
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from postloan_common.db import new_metadata
from postloan_common.messaging.tables import add_messaging_tables

metadata = new_metadata()

outbox, inbox = add_messaging_tables(metadata)

MONEY = Numeric(18, 2)

business_calendar = Table(
    "business_calendar",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("business_date", Date, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("id = 1", name="single_row"),
)

closed_days = Table(
    "closed_days",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("closed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("duration_ms", Integer, nullable=False),
    Column("stats", JSONB, nullable=False),
)

# The exceptions to the weekly pattern of the weekend days (settings): a holiday is never a business
# day, a working day is a weekend day that is one (domain.business_days.DayKind).
calendar_days = Table(
    "calendar_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("name", String(100), nullable=False, server_default=""),
    Column("kind", String(16), nullable=False, server_default="holiday"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_by", String(200), nullable=True),
    CheckConstraint("kind IN ('holiday', 'working_day')", name="kind"),
)

products = Table(
    "products",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("waterfall", String(32), nullable=False),
    Column("component_order", ARRAY(String(16)), nullable=False),
    Column("penalty_annual_rate", Numeric(12, 6), nullable=True),
    Column("penalty_multiplier", Numeric(8, 4), nullable=False),
    Column("grace_days", Integer, nullable=False),
    Column("overpayment", String(16), nullable=False),
    Column("due_offsets", ARRAY(Integer), nullable=False),
    Column("shift_due_dates", Boolean, nullable=False, server_default=text("false")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_by", String(200), nullable=True),
)

loans = Table(
    "loans",
    metadata,
    Column("loan_id", String(64), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("product", String(64), nullable=False),
    Column("branch", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("principal", MONEY, nullable=False),
    Column("annual_rate", Numeric(12, 6), nullable=False),
    Column("disbursed_on", Date, nullable=False),
    # Snapshot of the product's terms at booking: contract terms do not move with later product edits.
    Column("penalty_rate", Numeric(12, 6), nullable=False),
    Column("grace_days", Integer, nullable=False),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("content_hash", String(64), nullable=False),
    Column("booked_via", String(16), nullable=False),
    # Derived state, rewritten whenever a repayment, reversal or close of day changes it.
    Column("oldest_unpaid_due", Date, nullable=True),
    Column("bucket", String(8), nullable=False, server_default="M0"),
    Column("outstanding_principal", MONEY, nullable=False),
    Column("credit_balance", MONEY, nullable=False, server_default=text("0")),
    Column("closed_on", Date, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The latest restructuring's date; NULL for a loan never restructured (its replay needs no history).
    Column("restructured_on", Date, nullable=True),
    Index("ix_loans_oldest_unpaid_due", "oldest_unpaid_due", postgresql_where=text("status = 'active'")),
    Index("ix_loans_customer_id", "customer_id"),
    Index("ix_loans_bucket_loan_id", "bucket", "loan_id", postgresql_where=text("status = 'active'")),
)

installments = Table(
    "installments",
    metadata,
    # No foreign key to loans: installments are only ever written with their loan, in the same
    # transaction (intake and bulk intake), and the per-row check was half the cost of loading a
    # 12M-installment portfolio.
    Column("loan_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    # The day the installment falls due: its contractual date, or the next business day after it for
    # a product that shifts due dates (domain.business_days). Everything dated reads this one.
    Column("due_date", Date, nullable=False),
    # The contract's due date when due_date was shifted off it; NULL when the two are the same.
    Column("contract_due_date", Date, nullable=True),
    # due_date + the loan's grace days: the day at whose close an unpaid installment is missed.
    Column("grace_ends_on", Date, nullable=False),
    Column("principal", MONEY, nullable=False),
    Column("interest", MONEY, nullable=False),
    Column("fee", MONEY, nullable=False),
    Column("paid_principal", MONEY, nullable=False, server_default=text("0")),
    Column("paid_interest", MONEY, nullable=False, server_default=text("0")),
    Column("paid_fee", MONEY, nullable=False, server_default=text("0")),
    Column("paid_penalty", MONEY, nullable=False, server_default=text("0")),
    # Penalty accrued (unrounded) through penalty_as_of; later days are derived from the open principal.
    Column("penalty_accrued", Numeric(24, 10), nullable=False, server_default=text("0")),
    Column("penalty_as_of", Date, nullable=True),
    Column("settled_on", Date, nullable=True),
    PrimaryKeyConstraint("loan_id", "seq", name="pk_installments"),
    Index("ix_installments_open_due_date", "due_date", postgresql_where=text("settled_on IS NULL")),
    Index("ix_installments_open_grace_ends_on", "grace_ends_on", postgresql_where=text("settled_on IS NULL")),
)

restructurings = Table(
    "restructurings",
    metadata,
    Column("restructure_id", String(64), primary_key=True),
    Column("loan_id", String(64), ForeignKey("loans.loan_id", ondelete="CASCADE"), nullable=False),
    Column("restructured_on", Date, nullable=False),
    Column("reason", Text, nullable=False),
    Column("outstanding_principal", MONEY, nullable=False),
    # Contract and penalty rates of the new installments, and the penalty rate of those replaced.
    Column("annual_rate", Numeric(12, 6), nullable=False),
    Column("penalty_rate", Numeric(12, 6), nullable=False),
    Column("replaced_penalty_rate", Numeric(12, 6), nullable=False),
    # The new installments are seq first_seq … first_seq + installment_count - 1 in installments.
    Column("first_seq", Integer, nullable=False),
    Column("installment_count", Integer, nullable=False),
    # Repayments valued on restructured_on with a posting_seq up to this one precede the restructuring.
    Column("after_posting_seq", BigInteger, nullable=False),
    Column("posted_on", Date, nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("result", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("loan_id", "restructured_on", name="uq_restructurings_loan_id_restructured_on"),
)

# Installments a restructuring replaced, moved out of installments (which holds only the schedule in
# force, so close of day and the queries cannot count them), as they stood when replaced.
replaced_installments = Table(
    "replaced_installments",
    metadata,
    Column("loan_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column(
        "restructure_id",
        String(64),
        ForeignKey("restructurings.restructure_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("due_date", Date, nullable=False),
    Column("principal", MONEY, nullable=False),
    Column("interest", MONEY, nullable=False),
    Column("fee", MONEY, nullable=False),
    Column("paid_principal", MONEY, nullable=False),
    Column("paid_interest", MONEY, nullable=False),
    Column("paid_fee", MONEY, nullable=False),
    Column("paid_penalty", MONEY, nullable=False),
    # Penalty accrued through the restructuring day; what of it was unpaid was waived.
    Column("penalty", MONEY, nullable=False),
    Column("settled_on", Date, nullable=True),
    PrimaryKeyConstraint("loan_id", "seq", name="pk_replaced_installments"),
)

repayments = Table(
    "repayments",
    metadata,
    Column("repayment_id", String(64), primary_key=True),
    Column("loan_id", String(64), ForeignKey("loans.loan_id", ondelete="CASCADE"), nullable=False),
    Column("posting_seq", BigInteger, Identity(always=True), nullable=False, unique=True),
    Column("amount", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("value_date", Date, nullable=False),
    Column("channel", String(64), nullable=False),
    Column("posted_on", Date, nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status", String(16), nullable=False, server_default="posted"),
    Column("result", JSONB, nullable=False),
    Column("reversed_on", Date, nullable=True),
    Column("reversal_reason", Text, nullable=True),
    Column("reversal_result", JSONB, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_repayments_loan_id", "loan_id"),
)

allocations = Table(
    "allocations",
    metadata,
    Column("repayment_id", String(64), ForeignKey("repayments.repayment_id", ondelete="CASCADE"), nullable=False),
    Column("loan_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),  # 0 for a credit balance
    Column("component", String(16), nullable=False),
    Column("amount", MONEY, nullable=False),
    PrimaryKeyConstraint("repayment_id", "seq", "component", name="pk_allocations"),
    Index("ix_allocations_loan_id", "loan_id"),
)

loan_events = Table(
    "loan_events",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("loan_id", String(64), nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("business_date", Date, nullable=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("data", JSONB, nullable=False),
    Index("ix_loan_events_loan_id_id", "loan_id", "id"),
)

bulk_jobs = Table(
    "bulk_jobs",
    metadata,
    Column("job_id", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("format", String(8), nullable=False),
    Column("submitted_by", String(200), nullable=False),
    Column("total", BigInteger, nullable=False, server_default=text("0")),
    Column("loaded", BigInteger, nullable=False, server_default=text("0")),
    Column("unchanged", BigInteger, nullable=False, server_default=text("0")),
    Column("rejected", BigInteger, nullable=False, server_default=text("0")),
    Column("errors", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    # The job's last progress (each chunk's counters): a running job silent for long has no process.
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

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
)
