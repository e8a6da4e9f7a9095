"""The risk-alert database schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
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

# The feature tables live in modules of their own on this metadata; importing them here registers them
# wherever the schema is read (migrations, the schema test) and keeps `store.tables.X` imports working.
from postloan_risk_alert.store.fund_tables import (  # noqa: E402
    fund_flow_totals,
    fund_flows,
    fund_use_flags,
    fund_use_policies,
    loan_purposes,
)
from postloan_risk_alert.store.review_tables import (  # noqa: E402
    classification_proposals,
    collateral,
    collateral_links,
    collateral_valuations,
    guarantees,
    review_documents,
    review_policy,
    review_watch,
    reviews,
)
from postloan_risk_alert.store.signal_tables import customer_industries, external_signals  # noqa: E402

__all__ = [
    "alert_history",
    "alerts",
    "assessments",
    "audit_log",
    "classification_proposals",
    "classifications",
    "collateral",
    "collateral_links",
    "collateral_valuations",
    "customer_features",
    "customer_industries",
    "customer_scores",
    "day_closures",
    "external_signals",
    "feature_snapshots",
    "fund_flow_totals",
    "fund_flows",
    "fund_use_flags",
    "fund_use_policies",
    "guarantees",
    "inbox",
    "loan_features",
    "loan_purposes",
    "loan_scores",
    "metadata",
    "model_evaluations",
    "models",
    "outbox",
    "review_documents",
    "review_policy",
    "review_watch",
    "reviews",
    "rules",
    "scoring_runs",
]
