"""outbox parking: rows the broker rejects for good are parked with the reason instead of retried

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from postloan_common.migrations import downgrade_outbox_parking, upgrade_outbox_parking

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    upgrade_outbox_parking()


def downgrade() -> None:
    downgrade_outbox_parking()
