"""post-loan reviews: the review policy, review tasks, their documents and each loan's last seen classification"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from postloan_common.migrations_schema import created_updated_columns, id_column, timestamp_column

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "review_policy",
        sa.Column("id", sa.SmallInteger(), primary_key=True),
        sa.Column("policy", JSONB(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.Column("updated_by", sa.String(200), nullable=True),
        timestamp_column("updated_at"),
        sa.CheckConstraint("id = 1", name="ck_review_policy_single_row"),
    )
    op.create_table(
        "reviews",
        id_column("review_id", primary_key=True),
        id_column("loan_id"),
        id_column("customer_id"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(200), nullable=True),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("completed_by", sa.String(200), nullable=True),
        sa.Column("completion", JSONB(), nullable=True),
        *created_updated_columns(),
    )
    op.create_index(
        "uq_reviews_open_loan_kind",
        "reviews",
        ["loan_id", "kind"],
        unique=True,
        postgresql_where=sa.text("status IN ('due', 'overdue')"),
    )
    # The scheduler's "has this loan ever had a first review" probe (an anti join per loan).
    op.create_index("ix_reviews_loan_id_kind", "reviews", ["loan_id", "kind"])
    op.create_index("ix_reviews_status_due_on", "reviews", ["status", "due_on", "review_id"])
    op.create_index("ix_reviews_customer_id", "reviews", ["customer_id"])
    op.create_table(
        "review_documents",
        sa.Column("review_id", sa.String(64), sa.ForeignKey("reviews.review_id", ondelete="CASCADE"), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(200), nullable=False),
        timestamp_column("uploaded_at"),
        sa.PrimaryKeyConstraint("review_id", "sha256", name="pk_review_documents"),
    )
    # The classification each loan had at the last close of day, to see a downgrade as a review trigger.
    op.create_table(
        "review_watch",
        id_column("loan_id", primary_key=True),
        sa.Column("category", sa.String(16), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("review_watch")
    op.drop_table("review_documents")
    op.drop_index("ix_reviews_customer_id", table_name="reviews")
    op.drop_index("ix_reviews_status_due_on", table_name="reviews")
    op.drop_index("ix_reviews_loan_id_kind", table_name="reviews")
    op.drop_index("uq_reviews_open_loan_kind", table_name="reviews")
    op.drop_table("reviews")
    op.drop_table("review_policy")
