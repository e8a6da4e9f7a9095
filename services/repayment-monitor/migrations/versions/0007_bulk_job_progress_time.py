"""bulk jobs: updated_at, the time of a job's last progress, so start-up can tell a stale running job"""

from alembic import op

from postloan_common.migrations_schema import timestamp_column

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.add_column(
        "bulk_jobs",
        timestamp_column("updated_at"),
    )


def downgrade() -> None:
    op.drop_column("bulk_jobs", "updated_at")
