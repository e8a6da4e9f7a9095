"""reporting: the audit log (schedules created and deleted, issue 17); write-offs, recoveries after
write-off and agency placements (issue 16 item 4)"""

import sqlalchemy as sa
from alembic import op

from postloan_common.migrations_schema import MONEY, create_audit_log, id_column

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    create_audit_log()
    op.create_table(
        "rpt_write_off",
        sa.Column("loan_key", sa.BigInteger(), nullable=False),
        sa.Column("written_off_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("loan_key", name=op.f("pk_rpt_write_off")),
    )
    op.create_table(
        "rpt_recovery",
        id_column("repayment_id"),
        sa.Column("loan_key", sa.BigInteger(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("repayment_id", name=op.f("pk_rpt_recovery")),
    )
    op.create_index(op.f("ix_rpt_recovery_loan_key"), "rpt_recovery", ["loan_key"], unique=False)
    op.create_table(
        "rpt_placement",
        id_column("placement_id"),
        id_column("case_id"),
        sa.Column("loan_key", sa.BigInteger(), nullable=False),
        id_column("agency_id"),
        sa.Column("commission_rate", sa.Numeric(10, 8), nullable=True),
        sa.Column("placed_on", sa.Date(), nullable=True),
        sa.Column("recalled_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("placement_id", name=op.f("pk_rpt_placement")),
    )
    op.create_index(op.f("ix_rpt_placement_loan_key"), "rpt_placement", ["loan_key"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_rpt_placement_loan_key"), table_name="rpt_placement")
    op.drop_table("rpt_placement")
    op.drop_index(op.f("ix_rpt_recovery_loan_key"), table_name="rpt_recovery")
    op.drop_table("rpt_recovery")
    op.drop_table("rpt_write_off")
    op.drop_table("audit_log")
