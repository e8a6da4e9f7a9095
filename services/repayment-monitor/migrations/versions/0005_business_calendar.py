"""business calendar: holidays and working-day overrides, shifted due dates"""

import sqlalchemy as sa
from alembic import op

from postloan_common.migrations_schema import timestamp_column

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.rename_table("holidays", "calendar_days")
    op.execute("ALTER TABLE calendar_days RENAME CONSTRAINT pk_holidays TO pk_calendar_days")
    op.add_column("calendar_days", sa.Column("kind", sa.String(length=16), server_default="holiday", nullable=False))
    op.add_column(
        "calendar_days",
        timestamp_column("updated_at"),
    )
    op.add_column("calendar_days", sa.Column("updated_by", sa.String(length=200), nullable=True))
    op.create_check_constraint(op.f("ck_calendar_days_kind"), "calendar_days", "kind IN ('holiday', 'working_day')")
    # Nullable, so adding it rewrites no installment (NULL: due on the contractual date).
    op.add_column("installments", sa.Column("contract_due_date", sa.Date(), nullable=True))


def downgrade() -> None:
    # Back to the contractual dates, which is all the older schema knows.
    op.execute(
        """
        UPDATE loans l SET oldest_unpaid_due = (
            SELECT min(coalesce(i.contract_due_date, i.due_date)) FROM installments i
            WHERE i.loan_id = l.loan_id AND i.settled_on IS NULL)
        WHERE l.loan_id IN (SELECT loan_id FROM installments WHERE contract_due_date IS NOT NULL)
        """
    )
    op.execute(
        """
        UPDATE installments SET due_date = contract_due_date,
            grace_ends_on = grace_ends_on - (due_date - contract_due_date)
        WHERE contract_due_date IS NOT NULL
        """
    )
    op.drop_column("installments", "contract_due_date")
    # The older schema's table holds holidays only.
    op.execute("DELETE FROM calendar_days WHERE kind = 'working_day'")
    op.drop_constraint(op.f("ck_calendar_days_kind"), "calendar_days", type_="check")
    op.drop_column("calendar_days", "updated_by")
    op.drop_column("calendar_days", "updated_at")
    op.drop_column("calendar_days", "kind")
    op.execute("ALTER TABLE calendar_days RENAME CONSTRAINT pk_calendar_days TO pk_holidays")
    op.rename_table("calendar_days", "holidays")
