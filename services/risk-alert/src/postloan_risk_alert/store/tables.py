"""The risk-alert database schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
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
PROBABILITY = Numeric(10, 8)
RATIO = Numeric(14, 4)

# The projection of one loan, built only from events; the `*_3m/6m/12m`, episode counts and
# months-since columns are derived at close of day (they depend on the business date).
loan_features = Table(
    "loan_features",
    metadata,
    Column("loan_id", String(64), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("product", String(64), nullable=False),
    Column("branch", String(64), nullable=False, server_default=""),
    Column("segment", String(16), nullable=False, server_default="retail"),
    Column("collateral", String(32), nullable=False, server_default="none"),
    Column("currency", String(3), nullable=False, server_default="CNY"),
    Column("principal", MONEY, nullable=False),
    Column("outstanding", MONEY, nullable=False),
    Column("overdue", MONEY, nullable=False, server_default=text("0")),
    Column("annual_rate", Numeric(12, 6), nullable=False, server_default=text("0")),
    Column("disbursed_on", Date, nullable=False),
    Column("maturity_date", Date, nullable=False),
    Column("installment_count", Integer, nullable=False),
    Column("period_days", Integer, nullable=False, server_default=text("30")),
    Column("status", String(16), nullable=False, server_default="active"),
    # DPD = business date − overdue_since while something is overdue.
    Column("overdue_since", Date, nullable=True),
    Column("dpd", Integer, nullable=False, server_default=text("0")),
    # The open delinquency episode, and the closed ones as [{"s": start, "e": end, "m": max dpd}] (last 24).
    Column("episode_started_on", Date, nullable=True),
    Column("episode_max", Integer, nullable=False, server_default=text("0")),
    Column("dpd_episodes", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("max_dpd_3m", Integer, nullable=False, server_default=text("0")),
    Column("max_dpd_6m", Integer, nullable=False, server_default=text("0")),
    Column("max_dpd_12m", Integer, nullable=False, server_default=text("0")),
    Column("episodes_30", Integer, nullable=False, server_default=text("0")),
    Column("episodes_60", Integer, nullable=False, server_default=text("0")),
    Column("episodes_90", Integer, nullable=False, server_default=text("0")),
    Column("last_delinquent_on", Date, nullable=True),
    Column("last_cured_on", Date, nullable=True),
    Column("months_since_delinquency", Integer, nullable=True),
    Column("amount_due", MONEY, nullable=False, server_default=text("0")),
    Column("amount_paid", MONEY, nullable=False, server_default=text("0")),
    Column("payments_count", Integer, nullable=False, server_default=text("0")),
    Column("partial_payments", Integer, nullable=False, server_default=text("0")),
    Column("reversals", Integer, nullable=False, server_default=text("0")),
    Column("missed_count", Integer, nullable=False, server_default=text("0")),
    Column("consecutive_misses", Integer, nullable=False, server_default=text("0")),
    Column("promises_made", Integer, nullable=False, server_default=text("0")),
    Column("promises_kept", Integer, nullable=False, server_default=text("0")),
    Column("broken_promises", Integer, nullable=False, server_default=text("0")),
    Column("contacts", Integer, nullable=False, server_default=text("0")),
    Column("contacts_connected", Integer, nullable=False, server_default=text("0")),
    Column("contacts_rpc", Integer, nullable=False, server_default=text("0")),
    Column("contacts_negative", Integer, nullable=False, server_default=text("0")),
    Column("restructured", Boolean, nullable=False, server_default=text("false")),
    Column("restructured_on", Date, nullable=True),
    Column("restructure_count", Integer, nullable=False, server_default=text("0")),
    # Observation of a restructured loan: starts at the first repayment date after restructuring,
    # restarts after a missed payment; category_at_restructure is -1 when not restructured.
    Column("observation_start", Date, nullable=True),
    Column("category_at_restructure", SmallInteger, nullable=False, server_default=text("-1")),
    Column("last_business_date", Date, nullable=True),
    # Features changed since the last scoring; cleared by the close-of-day run.
    Column("dirty", Boolean, nullable=False, server_default=text("true")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_loan_features_customer_id", "customer_id"),
    Index("ix_loan_features_dirty", "loan_id", postgresql_where=text("dirty")),
)

customer_features = Table(
    "customer_features",
    metadata,
    Column("customer_id", String(64), primary_key=True),
    Column("segment", String(16), nullable=False, server_default="retail"),
    Column("loan_count", Integer, nullable=False, server_default=text("0")),
    Column("outstanding", MONEY, nullable=False, server_default=text("0")),
    Column("npl_outstanding", MONEY, nullable=False, server_default=text("0")),
    Column("max_dpd", Integer, nullable=False, server_default=text("0")),
    Column("broken_promises", Integer, nullable=False, server_default=text("0")),
    # Latest periodic assessment.
    Column("assessment_period", Date, nullable=True),
    Column("debt_ratio", RATIO, nullable=True),
    Column("current_ratio", RATIO, nullable=True),
    Column("interest_coverage", RATIO, nullable=True),
    Column("revenue_change", RATIO, nullable=True),
    # Periods in a row the debt ratio rose (domain/trends.py::rising_streak).
    Column("debt_ratio_rises", Integer, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

loan_scores = Table(
    "loan_scores",
    metadata,
    Column("loan_id", String(64), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("pd", PROBABILITY, nullable=False),
    Column("score", Integer, nullable=False),
    Column("grade", String(8), nullable=False),
    Column("reason_codes", ARRAY(String(64)), nullable=False, server_default=text("'{}'")),
    Column("model_version", String(64), nullable=False),
    # The first PD seen for the loan: the reference of the IFRS 9 PD-deterioration test.
    Column("pd_origination", PROBABILITY, nullable=False),
    # The score last published in risk-score-changed (the threshold is measured from it).
    Column("published_score", Integer, nullable=True),
    Column("published_grade", String(8), nullable=True),
    Column("scored_on", Date, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_loan_scores_customer_id", "customer_id"),
)

customer_scores = Table(
    "customer_scores",
    metadata,
    Column("customer_id", String(64), primary_key=True),
    Column("pd", PROBABILITY, nullable=False),
    Column("score", Integer, nullable=False),
    Column("grade", String(8), nullable=False),
    Column("reason_codes", ARRAY(String(64)), nullable=False, server_default=text("'{}'")),
    Column("model_version", String(64), nullable=False),
    Column("scored_on", Date, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

classifications = Table(
    "classifications",
    metadata,
    Column("loan_id", String(64), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("category", String(16), nullable=False),
    # The loan's own category before the debtor-level 10% rule (the rule's input).
    Column("own_category", String(16), nullable=False),
    Column("ifrs9_stage", SmallInteger, nullable=False),
    Column("ecl", MONEY, nullable=False),
    Column("reason", String(64), nullable=False),
    Column("since", Date, nullable=False),
    Column("in_observation", Boolean, nullable=False, server_default=text("false")),
    Column("observation_end", Date, nullable=True),
    Column("classified_on", Date, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_classifications_customer_id", "customer_id"),
)

models = Table(
    "models",
    metadata,
    Column("version", String(64), primary_key=True),
    Column("status", String(16), nullable=False),  # champion | challenger | retired
    Column("artifact", JSONB, nullable=False),
    Column("metrics", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("promoted_at", DateTime(timezone=True), nullable=True),
    Index("uq_models_one_champion", "status", unique=True, postgresql_where=text("status = 'champion'")),
)

# The latest evaluation of each model version on labelled own history (issue 13 item 9c): computed
# when a model is trained or promoted and at month-end close of day, read by the performance endpoint.
model_evaluations = Table(
    "model_evaluations",
    metadata,
    Column("version", String(64), ForeignKey("models.version", ondelete="CASCADE"), primary_key=True),
    Column("labelled_rows", Integer, nullable=False),
    Column("auc", Float, nullable=True),
    Column("ks", Float, nullable=True),
    Column("calibration", JSONB, nullable=True),
    Column("evaluated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

rules = Table(
    "rules",
    metadata,
    Column("rule_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("subject_type", String(16), nullable=False),  # loan | customer
    Column("condition", JSONB, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("dedup_window_days", Integer, nullable=False, server_default=text("7")),
    Column("auto_resolve", Boolean, nullable=False, server_default=text("true")),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("updated_by", String(200), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

alerts = Table(
    "alerts",
    metadata,
    Column("alert_id", String(64), primary_key=True),
    Column("rule_id", String(64), nullable=False),
    Column("subject_type", String(16), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("customer_id", String(64), nullable=True),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),  # open | acknowledged | resolved | dismissed
    Column("message", Text, nullable=False),
    Column("assignee", String(200), nullable=True),
    Column("raised_on", Date, nullable=True),
    Column("raised_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # One open alert per (rule, subject).
    Index(
        "uq_alerts_open_rule_subject",
        "rule_id",
        "subject_type",
        "subject_id",
        unique=True,
        postgresql_where=text("status IN ('open', 'acknowledged')"),
    ),
    Index("ix_alerts_status_severity_alert_id", "status", "severity", "alert_id"),
    Index("ix_alerts_rule_subject_raised_at", "rule_id", "subject_id", "raised_at"),
)

alert_history = Table(
    "alert_history",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("alert_id", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor", String(200), nullable=False),
    Column("action", String(32), nullable=False),
    Column("from_status", String(16), nullable=True),
    Column("to_status", String(16), nullable=False),
    Column("assignee", String(200), nullable=True),
    Column("note", Text, nullable=True),
    Index("ix_alert_history_alert_id", "alert_id"),
)

assessments = Table(
    "assessments",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("period_end", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("revenue", MONEY, nullable=False),
    Column("profit", Numeric(18, 2), nullable=False),
    Column("total_assets", MONEY, nullable=False),
    Column("total_liabilities", MONEY, nullable=False),
    Column("current_assets", MONEY, nullable=False),
    Column("current_liabilities", MONEY, nullable=False),
    Column("operating_cash_flow", Numeric(18, 2), nullable=False),
    Column("interest_expense", MONEY, nullable=False, server_default=text("0")),
    Column("ratios", JSONB, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("customer_id", "period_end", name="uq_assessments_customer_period"),
)

# day-closed arrives once per partition of repayment.loans; the run starts when all have arrived.
day_closures = Table(
    "day_closures",
    metadata,
    Column("business_date", Date, nullable=False),
    Column("partition", Integer, nullable=False),
    Column("partitions", Integer, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("business_date", "partition", name="pk_day_closures"),
)

scoring_runs = Table(
    "scoring_runs",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("finished_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("duration_ms", Integer, nullable=False),
    Column("stats", JSONB, nullable=False),
)

# Month-end feature rows: with the DPD episodes they give training rows (features, 90+ within 12 months).
feature_snapshots = Table(
    "feature_snapshots",
    metadata,
    Column("as_of", Date, nullable=False),
    Column("loan_id", String(64), nullable=False),
    Column("features", JSONB, nullable=False),
    PrimaryKeyConstraint("as_of", "loan_id", name="pk_feature_snapshots"),
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

# One row: the post-loan review policy (domain/reviews.py::ReviewPolicy), defaults when absent.
review_policy = Table(
    "review_policy",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("policy", JSONB, nullable=False),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("updated_by", String(200), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("id = 1", name="ck_review_policy_single_row"),
)

# Review tasks (贷后检查); `completion` holds the findings, recommendation and documents once done.
reviews = Table(
    "reviews",
    metadata,
    Column("review_id", String(64), primary_key=True),
    Column("loan_id", String(64), nullable=False),
    Column("customer_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # first | routine | triggered
    Column("reason", String(64), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("status", String(16), nullable=False),  # due | overdue | done | cancelled
    Column("assignee", String(200), nullable=True),
    Column("created_on", Date, nullable=False),
    Column("completed_on", Date, nullable=True),
    Column("completed_by", String(200), nullable=True),
    Column("completion", JSONB, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # One open review per loan and kind: a second trigger while one is open adds no task.
    Index(
        "uq_reviews_open_loan_kind",
        "loan_id",
        "kind",
        unique=True,
        postgresql_where=text("status IN ('due', 'overdue')"),
    ),
    Index("ix_reviews_loan_id_kind", "loan_id", "kind"),
    Index("ix_reviews_status_due_on", "status", "due_on", "review_id"),
    Index("ix_reviews_customer_id", "customer_id"),
)

review_documents = Table(
    "review_documents",
    metadata,
    Column("review_id", String(64), ForeignKey("reviews.review_id", ondelete="CASCADE"), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("uploaded_by", String(200), nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("review_id", "sha256", name="pk_review_documents"),
)

# The classification each loan had at the last close of day: a worse one today triggers a review.
review_watch = Table(
    "review_watch",
    metadata,
    Column("loan_id", String(64), primary_key=True),
    Column("category", String(16), nullable=False),
)

# Classification by judgement under four eyes: pending → approved (in force) | rejected; an approved
# one is superseded when the rules' category worsens past it or another is approved.
classification_proposals = Table(
    "classification_proposals",
    metadata,
    Column("proposal_id", String(64), primary_key=True),
    Column("loan_id", String(64), nullable=False),
    Column("customer_id", String(64), nullable=False),
    Column("classification", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | approved | rejected | superseded
    Column("proposed_by", String(200), nullable=False),
    Column("proposed_on", Date, nullable=False),
    Column("decided_by", String(200), nullable=True),
    Column("decided_on", Date, nullable=True),
    Column("note", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("uq_classification_proposals_pending", "loan_id", unique=True, postgresql_where=text("status = 'pending'")),
    Index("uq_classification_proposals_approved", "loan_id", unique=True, postgresql_where=text("status = 'approved'")),
    Index("ix_classification_proposals_status", "status", "proposal_id"),
)

# Collateral (抵押物/质押物) of a customer: the latest valuation here, the history in collateral_valuations.
collateral = Table(
    "collateral",
    metadata,
    Column("collateral_id", String(64), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("description", Text, nullable=False),
    Column("value", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("valued_on", Date, nullable=False),
    Column("valuer", String(200), nullable=False),
    Column("haircut", Numeric(6, 4), nullable=False),
    Column("lien_rank", SmallInteger, nullable=False, server_default=text("1")),
    Column("insurance_expires_on", Date, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_collateral_customer_id", "customer_id"),
)

collateral_valuations = Table(
    "collateral_valuations",
    metadata,
    Column("collateral_id", String(64), ForeignKey("collateral.collateral_id"), nullable=False),
    Column("valued_on", Date, nullable=False),
    Column("value", MONEY, nullable=False),
    Column("valuer", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("collateral_id", "valued_on", name="pk_collateral_valuations"),
)

# Which loans a collateral secures; without `allocated_value` the whole value is allocated.
collateral_links = Table(
    "collateral_links",
    metadata,
    Column("collateral_id", String(64), ForeignKey("collateral.collateral_id"), nullable=False),
    Column("loan_id", String(64), nullable=False),
    Column("allocated_value", MONEY, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("collateral_id", "loan_id", name="pk_collateral_links"),
    Index("ix_collateral_links_loan_id", "loan_id"),
)

# Guarantees (担保) of loans; a guarantor may itself be a borrower here (its loans then warn the guaranteed one).
guarantees = Table(
    "guarantees",
    metadata,
    Column("guarantee_id", String(64), primary_key=True),
    Column("loan_id", String(64), nullable=False),
    Column("customer_id", String(64), nullable=False),
    Column("guarantor_customer_id", String(64), nullable=False),
    Column("kind", String(24), nullable=False),  # personal | corporate | joint_and_several
    Column("amount", MONEY, nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_guarantees_loan_id", "loan_id"),
    Index("ix_guarantees_guarantor_customer_id", "guarantor_customer_id"),

# Fund-use tracking (issue 15). What the borrower said the loan is for, from loan-registered.
loan_purposes = Table(
    "loan_purposes",
    metadata,
    Column("loan_id", String(64), primary_key=True),
    Column("purpose", String(32), nullable=False),
)

# Money that moved out of or into a loan's disbursement account (fund-moved, POST /v1/fund-flows).
fund_flows = Table(
    "fund_flows",
    metadata,
    Column("flow_id", String(64), primary_key=True),
    Column("loan_id", String(64), nullable=False),
    Column("occurred_on", Date, nullable=False),
    Column("direction", String(3), nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("counterparty_name", String(200), nullable=False),
    Column("counterparty_account", String(64), nullable=True),
    Column("counterparty_bank", String(200), nullable=True),
    Column("counterparty_kind", String(32), nullable=False),
    Column("category", String(32), nullable=True),
    Column("channel", String(64), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Index("ix_fund_flows_loan_id_occurred_on", "loan_id", "occurred_on"),
)

# Running totals per loan, direction, counterparty kind and category ('' for none), kept on ingest
# so the trace of a loan reads a few rows instead of re-reading its flows.
fund_flow_totals = Table(
    "fund_flow_totals",
    metadata,
    Column("loan_id", String(64), nullable=False),
    Column("direction", String(3), nullable=False),
    Column("counterparty_kind", String(32), nullable=False),
    Column("category", String(32), nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("flows", Integer, nullable=False),
    PrimaryKeyConstraint("loan_id", "direction", "counterparty_kind", "category", name="pk_fund_flow_totals"),
)

# Fund-use policy per loan purpose (GET|PUT /v1/fund-use-policies/{purpose}); absent: the defaults.
fund_use_policies = Table(
    "fund_use_policies",
    metadata,
    Column("purpose", String(32), primary_key=True),
    Column("policy", JSONB, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# The fund-use findings of each loan, one per rule, with the flows that caused them and the alert raised.
fund_use_flags = Table(
    "fund_use_flags",
    metadata,
    Column("loan_id", String(64), nullable=False),
    Column("rule", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("flow_ids", ARRAY(String(64)), nullable=False),
    Column("raised_on", Date, nullable=False),
    Column("alert_id", String(64), nullable=True),
    PrimaryKeyConstraint("loan_id", "rule", name="pk_fund_use_flags"),
    Index("ix_fund_use_flags_raised_on", "raised_on", "loan_id", "rule"),
)
