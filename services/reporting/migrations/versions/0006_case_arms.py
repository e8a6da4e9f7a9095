"""reporting: the strategy experiment and arm of each case, and its DPD when it opened (issue 16 item 6)"""

import sqlalchemy as sa
from alembic import op

from postloan_common.migrations_schema import id_column

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.add_column("rpt_case", id_column("experiment", nullable=True))
    op.add_column("rpt_case", sa.Column("arm", sa.String(32), nullable=True))
    op.add_column("rpt_case", sa.Column("arm_role", sa.String(16), nullable=True))
    op.add_column("rpt_case", sa.Column("opened_dpd", sa.Integer(), nullable=True))
    op.create_index("ix_rpt_case_experiment_opened_on", "rpt_case", ["experiment", "opened_on"])


def downgrade() -> None:
    op.drop_index("ix_rpt_case_experiment_opened_on", table_name="rpt_case")
    for column in ("opened_dpd", "arm_role", "arm", "experiment"):
        op.drop_column("rpt_case", column)
