"""risk-alert's tables of post-loan reviews, judgement, collateral and guarantees (on the service's one metadata)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from postloan_common.migrations_schema import MONEY, id_column, timestamp_column
from postloan_risk_alert.store.tables import metadata

# One row: the post-loan review policy (domain/reviews.py::ReviewPolicy), defaults when absent.
review_policy = sa.Table(
    "review_policy",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("policy", JSONB, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
    sa.Column("updated_by", sa.String(200), nullable=True),
    timestamp_column("updated_at"),
    sa.CheckConstraint("id = 1", name="ck_review_policy_single_row"),
)

# Review tasks (贷后检查); `completion` holds the findings, recommendation and documents once done.
reviews = sa.Table(
    "reviews",
    metadata,
    id_column("review_id", primary_key=True),
    id_column("loan_id"),
    id_column("customer_id"),
    sa.Column("kind", sa.String(16), nullable=False),  # first | routine | triggered
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # due | overdue | done | cancelled
    sa.Column("assignee", sa.String(200), nullable=True),
    sa.Column("created_on", sa.Date, nullable=False),
    sa.Column("completed_on", sa.Date, nullable=True),
    sa.Column("completed_by", sa.String(200), nullable=True),
    sa.Column("completion", JSONB, nullable=True),
    timestamp_column("created_at"),
    timestamp_column("updated_at"),
    # One open review per loan and kind: a second trigger while one is open adds no task.
    sa.Index(
        "uq_reviews_open_loan_kind",
        "loan_id",
        "kind",
        unique=True,
        postgresql_where=sa.text("status IN ('due', 'overdue')"),
    ),
    sa.Index("ix_reviews_loan_id_kind", "loan_id", "kind"),
    sa.Index("ix_reviews_status_due_on", "status", "due_on", "review_id"),
    sa.Index("ix_reviews_customer_id", "customer_id"),
)

review_documents = sa.Table(
    "review_documents",
    metadata,
    sa.Column("review_id", sa.String(64), sa.ForeignKey("reviews.review_id", ondelete="CASCADE"), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("media_type", sa.String(100), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("uploaded_by", sa.String(200), nullable=False),
    timestamp_column("uploaded_at"),
    sa.PrimaryKeyConstraint("review_id", "sha256", name="pk_review_documents"),
)

# The classification each loan had at the last close of day: a worse one today triggers a review.
review_watch = sa.Table(
    "review_watch",
    metadata,
    id_column("loan_id", primary_key=True),
    sa.Column("category", sa.String(16), nullable=False),
)

# Classification by judgement under four eyes: pending → approved (in force) | rejected; an approved
# one is superseded when the rules' category worsens past it or another is approved.
classification_proposals = sa.Table(
    "classification_proposals",
    metadata,
    id_column("proposal_id", primary_key=True),
    id_column("loan_id"),
    id_column("customer_id"),
    sa.Column("classification", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | approved | rejected | superseded
    sa.Column("proposed_by", sa.String(200), nullable=False),
    sa.Column("proposed_on", sa.Date, nullable=False),
    sa.Column("decided_by", sa.String(200), nullable=True),
    sa.Column("decided_on", sa.Date, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    timestamp_column("created_at"),
    timestamp_column("updated_at"),
    sa.Index(
        "uq_classification_proposals_pending", "loan_id", unique=True, postgresql_where=sa.text("status = 'pending'")
    ),
    sa.Index(
        "uq_classification_proposals_approved", "loan_id", unique=True, postgresql_where=sa.text("status = 'approved'")
    ),
    sa.Index("ix_classification_proposals_status", "status", "proposal_id"),
)

# Collateral (抵押物/质押物) of a customer: the latest valuation here, the history in collateral_valuations.
collateral = sa.Table(
    "collateral",
    metadata,
    id_column("collateral_id", primary_key=True),
    id_column("customer_id"),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("value", MONEY, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("valued_on", sa.Date, nullable=False),
    sa.Column("valuer", sa.String(200), nullable=False),
    sa.Column("haircut", sa.Numeric(6, 4), nullable=False),
    sa.Column("lien_rank", sa.SmallInteger, nullable=False, server_default=sa.text("1")),
    sa.Column("insurance_expires_on", sa.Date, nullable=True),
    timestamp_column("created_at"),
    timestamp_column("updated_at"),
    sa.Index("ix_collateral_customer_id", "customer_id"),
)

collateral_valuations = sa.Table(
    "collateral_valuations",
    metadata,
    sa.Column("collateral_id", sa.String(64), sa.ForeignKey("collateral.collateral_id"), nullable=False),
    sa.Column("valued_on", sa.Date, nullable=False),
    sa.Column("value", MONEY, nullable=False),
    sa.Column("valuer", sa.String(200), nullable=False),
    timestamp_column("created_at"),
    sa.PrimaryKeyConstraint("collateral_id", "valued_on", name="pk_collateral_valuations"),
)

# Which loans a collateral secures; without `allocated_value` the whole value is allocated.
collateral_links = sa.Table(
    "collateral_links",
    metadata,
    sa.Column("collateral_id", sa.String(64), sa.ForeignKey("collateral.collateral_id"), nullable=False),
    id_column("loan_id"),
    sa.Column("allocated_value", MONEY, nullable=True),
    timestamp_column("created_at"),
    sa.PrimaryKeyConstraint("collateral_id", "loan_id", name="pk_collateral_links"),
    sa.Index("ix_collateral_links_loan_id", "loan_id"),
)

# Guarantees (担保) of loans; a guarantor may itself be a borrower here (its loans then warn the guaranteed one).
guarantees = sa.Table(
    "guarantees",
    metadata,
    id_column("guarantee_id", primary_key=True),
    id_column("loan_id"),
    id_column("customer_id"),
    id_column("guarantor_customer_id"),
    sa.Column("kind", sa.String(24), nullable=False),  # personal | corporate | joint_and_several
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("valid_until", sa.Date, nullable=False),
    timestamp_column("created_at"),
    sa.Index("ix_guarantees_loan_id", "loan_id"),
    sa.Index("ix_guarantees_guarantor_customer_id", "guarantor_customer_id"),
)
