"""messaging: outbox and inbox

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from postloan_common.migrations import downgrade_messaging, upgrade_messaging

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    upgrade_messaging()


def downgrade() -> None:
    downgrade_messaging()
