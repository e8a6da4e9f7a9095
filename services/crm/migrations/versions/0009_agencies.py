"""agencies: outside collection agencies and the recovery cases placed with them"""

import sqlalchemy as sa
from alembic import op

from postloan_common.migrations_schema import created_updated_columns, id_column

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    active = sa.text("status = 'active'")  # the partial indexes cover the placements still with an agency
    op.create_table(
        "agencies",
        id_column("agency_id"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("commission_rate", sa.Numeric(5, 4), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        *created_updated_columns(),
        sa.PrimaryKeyConstraint("agency_id", name=op.f("pk_agencies")),
        sa.CheckConstraint(
            "commission_rate >= 0 AND commission_rate <= 1", name=op.f("ck_agencies_commission_rate_fraction")
        ),
    )
    op.create_table(
        "placements",
        *(id_column(name) for name in ("placement_id", "case_id", "customer_id", "loan_id", "agency_id")),
        sa.Column("commission_rate", sa.Numeric(5, 4), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("placed_by", sa.String(200), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recalled_by", sa.String(200), nullable=True),
        sa.Column("recalled_at", sa.DateTime(timezone=True), nullable=True),
        *created_updated_columns(),
        sa.PrimaryKeyConstraint("placement_id", name=op.f("pk_placements")),
        sa.CheckConstraint("status IN ('active', 'recalled')", name=op.f("ck_placements_status_known")),
    )
    op.create_index("uq_placements_active_case", "placements", ["case_id"], unique=True, postgresql_where=active)
    op.create_index("ix_placements_active_agency", "placements", ["agency_id"], postgresql_where=active)
    op.create_index("ix_placements_case_id", "placements", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_placements_case_id", table_name="placements")
    op.drop_index("ix_placements_active_agency", table_name="placements")
    op.drop_index("uq_placements_active_case", table_name="placements")
    op.drop_table("placements")
    op.drop_table("agencies")
