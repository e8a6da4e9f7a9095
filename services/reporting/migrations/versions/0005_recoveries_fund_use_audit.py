"""reporting: the audit log (schedules created and deleted, issue 17)"""

from postloan_common.migrations_schema import create_audit_log
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    create_audit_log()


def downgrade() -> None:
    op.drop_table("audit_log")
