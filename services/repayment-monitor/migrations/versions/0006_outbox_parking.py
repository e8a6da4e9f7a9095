"""outbox parking: rows the broker rejects for good are parked with the reason instead of retried"""

from postloan_common.migrations import downgrade_outbox_parking, upgrade_outbox_parking

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    upgrade_outbox_parking()


def downgrade() -> None:
    downgrade_outbox_parking()
