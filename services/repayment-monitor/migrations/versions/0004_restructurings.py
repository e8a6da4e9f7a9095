"""restructurings: their history and the installments they replaced"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from postloan_common.migrations_schema import id_column, money_column, timestamp_column

revision = '0004'
down_revision = '0003'


def upgrade() -> None:
    op.create_table('restructurings',
    id_column('restructure_id'),
    id_column('loan_id'),
    sa.Column('restructured_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    money_column('outstanding_principal'),
    sa.Column('annual_rate', sa.Numeric(precision=12, scale=6), nullable=False),
    sa.Column('penalty_rate', sa.Numeric(precision=12, scale=6), nullable=False),
    sa.Column('replaced_penalty_rate', sa.Numeric(precision=12, scale=6), nullable=False),
    sa.Column('first_seq', sa.Integer(), nullable=False),
    sa.Column('installment_count', sa.Integer(), nullable=False),
    sa.Column('after_posting_seq', sa.BigInteger(), nullable=False),
    sa.Column('posted_on', sa.Date(), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('result', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    timestamp_column('created_at'),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.loan_id'], name=op.f('fk_restructurings_loan_id_loans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('restructure_id', name=op.f('pk_restructurings')),
    sa.UniqueConstraint('loan_id', 'restructured_on', name='uq_restructurings_loan_id_restructured_on')
    )
    op.create_table('replaced_installments',
    id_column('loan_id'),
    sa.Column('seq', sa.Integer(), nullable=False),
    id_column('restructure_id'),
    sa.Column('due_date', sa.Date(), nullable=False),
    money_column('principal'),
    money_column('interest'),
    money_column('fee'),
    money_column('paid_principal'),
    money_column('paid_interest'),
    money_column('paid_fee'),
    money_column('paid_penalty'),
    money_column('penalty'),
    sa.Column('settled_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['restructure_id'], ['restructurings.restructure_id'], name=op.f('fk_replaced_installments_restructure_id_restructurings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('loan_id', 'seq', name='pk_replaced_installments')
    )
    op.add_column('loans', sa.Column('restructured_on', sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column('loans', 'restructured_on')
    op.drop_table('replaced_installments')
    op.drop_table('restructurings')
