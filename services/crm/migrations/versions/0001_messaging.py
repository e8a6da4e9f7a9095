"""messaging: outbox and inbox"""

from postloan_common.migrations import downgrade_messaging, upgrade_messaging

revision = "0001"
down_revision = None


def upgrade() -> None:
    upgrade_messaging()


def downgrade() -> None:
    downgrade_messaging()
