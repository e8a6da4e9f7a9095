"""risk-alert's tables of post-loan reviews, judgement, collateral and guarantees (on the service's one metadata)."""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from postloan_risk_alert.store.tables import MONEY, metadata

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
)
