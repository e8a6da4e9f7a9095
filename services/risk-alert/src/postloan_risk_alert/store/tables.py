"""The risk-alert database schema."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from postloan_common.audit import audit_log_table
from postloan_common.db import new_metadata
from postloan_common.messaging.tables import add_messaging_tables
from postloan_common.migrations_schema import MONEY, id_column, identity_column, jsonb_object_column, timestamp_column

metadata = new_metadata()

outbox, inbox = add_messaging_tables(metadata)

PROBABILITY = sa.Numeric(10, 8)
RATIO = sa.Numeric(14, 4)

# The projection of one loan, built only from events; the `*_3m/6m/12m`, episode counts and
# months-since columns are derived at close of day (they depend on the business date).
loan_features = sa.Table(
    "loan_features",
    metadata,
    id_column("loan_id", primary_key=True),
    id_column("customer_id"),
    sa.Column("product", sa.String(64), nullable=False),
    sa.Column("branch", sa.String(64), nullable=False, server_default=""),
    sa.Column("segment", sa.String(16), nullable=False, server_default="retail"),
    sa.Column("collateral", sa.String(32), nullable=False, server_default="none"),
    sa.Column("currency", sa.String(3), nullable=False, server_default="CNY"),
    sa.Column("principal", MONEY, nullable=False),
    sa.Column("outstanding", MONEY, nullable=False),
    sa.Column("overdue", MONEY, nullable=False, server_default=sa.text("0")),
    sa.Column("annual_rate", sa.Numeric(12, 6), nullable=False, server_default=sa.text("0")),
    sa.Column("disbursed_on", sa.Date, nullable=False),
    sa.Column("maturity_date", sa.Date, nullable=False),
    sa.Column("installment_count", sa.Integer, nullable=False),
    sa.Column("period_days", sa.Integer, nullable=False, server_default=sa.text("30")),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    # DPD = business date − overdue_since while something is overdue.
    sa.Column("overdue_since", sa.Date, nullable=True),
    sa.Column("dpd", sa.Integer, nullable=False, server_default=sa.text("0")),
    # The open delinquency episode, and the closed ones as [{"s": start, "e": end, "m": max dpd}] (last 24).
    sa.Column("episode_started_on", sa.Date, nullable=True),
    sa.Column("episode_max", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("dpd_episodes", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("max_dpd_3m", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("max_dpd_6m", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("max_dpd_12m", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("episodes_30", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("episodes_60", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("episodes_90", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("last_delinquent_on", sa.Date, nullable=True),
    sa.Column("last_cured_on", sa.Date, nullable=True),
    sa.Column("months_since_delinquency", sa.Integer, nullable=True),
    sa.Column("amount_due", MONEY, nullable=False, server_default=sa.text("0")),
    sa.Column("amount_paid", MONEY, nullable=False, server_default=sa.text("0")),
    sa.Column("payments_count", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("partial_payments", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("reversals", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("missed_count", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("consecutive_misses", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("promises_made", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("promises_kept", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("broken_promises", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("contacts", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("contacts_connected", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("contacts_rpc", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("contacts_negative", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("restructured", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("restructured_on", sa.Date, nullable=True),
    sa.Column("restructure_count", sa.Integer, nullable=False, server_default=sa.text("0")),
    # Observation of a restructured loan: starts at the first repayment date after restructuring,
    # restarts after a missed payment; category_at_restructure is -1 when not restructured.
    sa.Column("observation_start", sa.Date, nullable=True),
    sa.Column("category_at_restructure", sa.SmallInteger, nullable=False, server_default=sa.text("-1")),
    sa.Column("last_business_date", sa.Date, nullable=True),
    # Features changed since the last scoring; cleared by the close-of-day run.
    sa.Column("dirty", sa.Boolean, nullable=False, server_default=sa.text("true")),
    timestamp_column("updated_at"),
    # The secured value last emitted in collateral-coverage-changed (NULL: never, i.e. 0; store/coverage.py).
    sa.Column("published_secured_value", MONEY, nullable=True),
    sa.Index("ix_loan_features_customer_id", "customer_id"),
    sa.Index("ix_loan_features_dirty", "loan_id", postgresql_where=sa.text("dirty")),
)

customer_features = sa.Table(
    "customer_features",
    metadata,
    id_column("customer_id", primary_key=True),
    sa.Column("segment", sa.String(16), nullable=False, server_default="retail"),
    sa.Column("loan_count", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("outstanding", MONEY, nullable=False, server_default=sa.text("0")),
    sa.Column("npl_outstanding", MONEY, nullable=False, server_default=sa.text("0")),
    sa.Column("max_dpd", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("broken_promises", sa.Integer, nullable=False, server_default=sa.text("0")),
    # Latest periodic assessment.
    sa.Column("assessment_period", sa.Date, nullable=True),
    sa.Column("debt_ratio", RATIO, nullable=True),
    sa.Column("current_ratio", RATIO, nullable=True),
    sa.Column("interest_coverage", RATIO, nullable=True),
    sa.Column("revenue_change", RATIO, nullable=True),
    # Periods in a row the debt ratio rose (domain/trends.py::rising_streak).
    sa.Column("debt_ratio_rises", sa.Integer, nullable=True),
    timestamp_column("updated_at"),
)

loan_scores = sa.Table(
    "loan_scores",
    metadata,
    id_column("loan_id", primary_key=True),
    id_column("customer_id"),
    sa.Column("pd", PROBABILITY, nullable=False),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("grade", sa.String(8), nullable=False),
    sa.Column("reason_codes", ARRAY(sa.String(64)), nullable=False, server_default=sa.text("'{}'")),
    sa.Column("model_version", sa.String(64), nullable=False),
    # The first PD seen for the loan: the reference of the IFRS 9 PD-deterioration test.
    sa.Column("pd_origination", PROBABILITY, nullable=False),
    # The score last published in risk-score-changed (the threshold is measured from it).
    sa.Column("published_score", sa.Integer, nullable=True),
    sa.Column("published_grade", sa.String(8), nullable=True),
    sa.Column("scored_on", sa.Date, nullable=False),
    timestamp_column("updated_at"),
    sa.Index("ix_loan_scores_customer_id", "customer_id"),
)

customer_scores = sa.Table(
    "customer_scores",
    metadata,
    id_column("customer_id", primary_key=True),
    sa.Column("pd", PROBABILITY, nullable=False),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("grade", sa.String(8), nullable=False),
    sa.Column("reason_codes", ARRAY(sa.String(64)), nullable=False, server_default=sa.text("'{}'")),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("scored_on", sa.Date, nullable=False),
    timestamp_column("updated_at"),
)

classifications = sa.Table(
    "classifications",
    metadata,
    id_column("loan_id", primary_key=True),
    id_column("customer_id"),
    sa.Column("category", sa.String(16), nullable=False),
    # The loan's own category before the debtor-level 10% rule (the rule's input).
    sa.Column("own_category", sa.String(16), nullable=False),
    sa.Column("ifrs9_stage", sa.SmallInteger, nullable=False),
    sa.Column("ecl", MONEY, nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("since", sa.Date, nullable=False),
    sa.Column("in_observation", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("observation_end", sa.Date, nullable=True),
    sa.Column("classified_on", sa.Date, nullable=False),
    timestamp_column("updated_at"),
    sa.Index("ix_classifications_customer_id", "customer_id"),
)

models = sa.Table(
    "models",
    metadata,
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # champion | challenger | retired
    sa.Column("artifact", JSONB, nullable=False),
    jsonb_object_column("metrics"),
    timestamp_column("created_at"),
    sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("uq_models_one_champion", "status", unique=True, postgresql_where=sa.text("status = 'champion'")),
)

# The latest evaluation of each model version on labelled own history (issue 13 item 9c): computed
# when a model is trained or promoted and at month-end close of day, read by the performance endpoint.
model_evaluations = sa.Table(
    "model_evaluations",
    metadata,
    sa.Column("version", sa.String(64), sa.ForeignKey("models.version", ondelete="CASCADE"), primary_key=True),
    sa.Column("labelled_rows", sa.Integer, nullable=False),
    sa.Column("auc", sa.Float, nullable=True),
    sa.Column("ks", sa.Float, nullable=True),
    sa.Column("calibration", JSONB, nullable=True),
    timestamp_column("evaluated_at"),
)

rules = sa.Table(
    "rules",
    metadata,
    id_column("rule_id", primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("subject_type", sa.String(16), nullable=False),  # loan | customer
    sa.Column("condition", JSONB, nullable=False),
    # Hysteresis: when set, an open alert auto-resolves only once this holds too (migration 0012).
    sa.Column("resolve_condition", JSONB, nullable=True),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("dedup_window_days", sa.Integer, nullable=False, server_default=sa.text("7")),
    sa.Column("auto_resolve", sa.Boolean, nullable=False, server_default=sa.text("true")),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.text("true")),
    sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
    sa.Column("updated_by", sa.String(200), nullable=True),
    timestamp_column("created_at"),
    timestamp_column("updated_at"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    id_column("alert_id", primary_key=True),
    id_column("rule_id"),
    sa.Column("subject_type", sa.String(16), nullable=False),
    id_column("subject_id"),
    id_column("customer_id", nullable=True),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # open | acknowledged | resolved | dismissed
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("assignee", sa.String(200), nullable=True),
    sa.Column("raised_on", sa.Date, nullable=True),
    timestamp_column("raised_at"),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    timestamp_column("updated_at"),
    # One open alert per (rule, subject).
    sa.Index(
        "uq_alerts_open_rule_subject",
        "rule_id",
        "subject_type",
        "subject_id",
        unique=True,
        postgresql_where=sa.text("status IN ('open', 'acknowledged')"),
    ),
    sa.Index("ix_alerts_status_severity_alert_id", "status", "severity", "alert_id"),
    sa.Index("ix_alerts_rule_subject_raised_at", "rule_id", "subject_id", "raised_at"),
)

alert_history = sa.Table(
    "alert_history",
    metadata,
    identity_column("id", primary_key=True),
    id_column("alert_id"),
    timestamp_column("at"),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("from_status", sa.String(16), nullable=True),
    sa.Column("to_status", sa.String(16), nullable=False),
    sa.Column("assignee", sa.String(200), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Index("ix_alert_history_alert_id", "alert_id"),
)

assessments = sa.Table(
    "assessments",
    metadata,
    identity_column("id", primary_key=True),
    id_column("customer_id"),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("revenue", MONEY, nullable=False),
    sa.Column("profit", sa.Numeric(18, 2), nullable=False),
    sa.Column("total_assets", MONEY, nullable=False),
    sa.Column("total_liabilities", MONEY, nullable=False),
    sa.Column("current_assets", MONEY, nullable=False),
    sa.Column("current_liabilities", MONEY, nullable=False),
    sa.Column("operating_cash_flow", sa.Numeric(18, 2), nullable=False),
    sa.Column("interest_expense", MONEY, nullable=False, server_default=sa.text("0")),
    sa.Column("ratios", JSONB, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    timestamp_column("created_at"),
    sa.UniqueConstraint("customer_id", "period_end", name="uq_assessments_customer_period"),
)

# day-closed arrives once per partition of repayment.loans; the run starts when all have arrived.
day_closures = sa.Table(
    "day_closures",
    metadata,
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("partition", sa.Integer, nullable=False),
    sa.Column("partitions", sa.Integer, nullable=False),
    timestamp_column("received_at"),
    sa.PrimaryKeyConstraint("business_date", "partition", name="pk_day_closures"),
)

scoring_runs = sa.Table(
    "scoring_runs",
    metadata,
    sa.Column("business_date", sa.Date, primary_key=True),
    timestamp_column("finished_at"),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("stats", JSONB, nullable=False),
)

# Month-end feature rows: with the DPD episodes they give training rows (features, 90+ within 12 months).
feature_snapshots = sa.Table(
    "feature_snapshots",
    metadata,
    sa.Column("as_of", sa.Date, nullable=False),
    id_column("loan_id"),
    sa.Column("features", JSONB, nullable=False),
    sa.PrimaryKeyConstraint("as_of", "loan_id", name="pk_feature_snapshots"),
)

audit_log = audit_log_table(metadata)

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
