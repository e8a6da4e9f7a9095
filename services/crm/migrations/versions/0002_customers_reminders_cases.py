"""crm: customers and consents, loan and risk projections, communications, agents, cases, promises, care, tickets, audit"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from postloan_common.migrations_schema import (
    create_audit_log,
    created_updated_columns,
    id_column,
    identity_column,
    jsonb_object_column,
    money_column,
    timestamp_column,
)

revision = '0002'
down_revision = '0001'


def upgrade() -> None:
    op.create_table('agents',
    id_column('agent_id'),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('queues', postgresql.ARRAY(sa.String(length=16)), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    *created_updated_columns(),
    sa.PrimaryKeyConstraint('agent_id', name=op.f('pk_agents'))
    )
    create_audit_log()
    op.create_index('ix_audit_log_subject_at', 'audit_log', ['subject', 'at'], unique=False)
    op.create_table('business_calendar',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_business_calendar_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_business_calendar'))
    )
    op.create_table('care_touchpoints',
    identity_column('id'),
    id_column('customer_id'),
    id_column('loan_id', nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='planned', nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    *created_updated_columns(),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_touchpoints')),
    sa.UniqueConstraint('customer_id', 'kind', 'due_on', name='uq_care_touchpoints_customer_kind_due_on')
    )
    op.create_table('cases',
    id_column('case_id'),
    id_column('loan_id'),
    id_column('customer_id'),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('queue', sa.String(length=16), nullable=False),
    sa.Column('bucket', sa.String(length=8), nullable=False),
    sa.Column('dpd', sa.Integer(), nullable=False),
    money_column('overdue_amount'),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('assignee', sa.String(length=64), nullable=True),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('close_reason', sa.String(length=32), nullable=True),
    money_column('amount_collected', server_default=sa.text('0')),
    *created_updated_columns(),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_cases'))
    )
    op.create_index('ix_cases_assignee', 'cases', ['assignee'], unique=False, postgresql_where=sa.text("status = 'open'"))
    op.create_index('ix_cases_customer_id', 'cases', ['customer_id'], unique=False)
    op.create_index('ix_cases_status_queue_case_id', 'cases', ['status', 'queue', 'case_id'], unique=False)
    op.create_index('uq_cases_open_loan', 'cases', ['loan_id'], unique=True, postgresql_where=sa.text("status = 'open'"))
    op.create_table('communications',
    id_column('communication_id'),
    id_column('customer_id'),
    id_column('loan_id', nullable=True),
    id_column('case_id', nullable=True),
    sa.Column('kind', sa.String(length=16), server_default='reminder', nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=True),
    sa.Column('recipient', sa.String(length=254), nullable=True),
    sa.Column('template', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('send_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('was_deferred', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('provider_message_id', sa.String(length=200), nullable=True),
    sa.Column('installment_seq', sa.Integer(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    money_column('amount_due', nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('payment_reference', sa.String(length=64), nullable=True),
    id_column('source_event_id', nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    *created_updated_columns(),
    sa.CheckConstraint("status IN ('queued', 'deferred', 'sent', 'failed', 'suppressed')", name=op.f('ck_communications_status_known')),
    sa.PrimaryKeyConstraint('communication_id', name=op.f('pk_communications')),
    sa.UniqueConstraint('source_event_id', name=op.f('uq_communications_source_event_id'))
    )
    op.create_index('ix_communications_customer_id_created_at', 'communications', ['customer_id', 'created_at'], unique=False)
    op.create_index('ix_communications_due', 'communications', ['send_after'], unique=False, postgresql_where=sa.text("status IN ('queued', 'deferred')"))
    op.create_table('contact_policies',
    sa.Column('jurisdiction', sa.String(length=2), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('quiet_start', sa.Time(), nullable=True),
    sa.Column('quiet_end', sa.Time(), nullable=True),
    sa.Column('max_per_day', sa.Integer(), nullable=True),
    sa.Column('max_per_window', sa.Integer(), nullable=True),
    sa.Column('window_days', sa.Integer(), server_default=sa.text('7'), nullable=False),
    sa.Column('counting', sa.String(length=16), server_default='attempts', nullable=False),
    timestamp_column('updated_at'),
    sa.Column('updated_by', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('jurisdiction', 'channel', name='pk_contact_policies')
    )
    op.create_table('customers',
    id_column('customer_id'),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('national_id', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('jurisdiction', sa.String(length=2), server_default='CN', nullable=False),
    sa.Column('segment', sa.String(length=16), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('preferred_channel', sa.String(length=16), nullable=True),
    sa.Column('address', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    *created_updated_columns(),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_customers'))
    )
    op.create_table('installments_due',
    id_column('loan_id'),
    sa.Column('seq', sa.Integer(), nullable=False),
    id_column('customer_id'),
    sa.Column('due_date', sa.Date(), nullable=False),
    money_column('amount_due'),
    money_column('amount_paid', server_default=sa.text('0')),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('payment_reference', sa.String(length=64), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('loan_id', 'seq', name='pk_installments_due')
    )
    op.create_table('interactions',
    id_column('interaction_id'),
    id_column('customer_id'),
    id_column('case_id', nullable=True),
    id_column('loan_id', nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('party', sa.String(length=16), nullable=False),
    sa.Column('connected', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('agent_id', sa.String(length=200), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    timestamp_column('created_at'),
    sa.PrimaryKeyConstraint('interaction_id', name=op.f('pk_interactions'))
    )
    op.create_index('ix_interactions_customer_id_occurred_at', 'interactions', ['customer_id', 'occurred_at'], unique=False)
    op.create_table('loans',
    id_column('loan_id'),
    id_column('customer_id'),
    sa.Column('status', sa.String(length=16), server_default='active', nullable=False),
    sa.Column('product', sa.String(length=64), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    money_column('principal', nullable=True),
    sa.Column('dpd', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('bucket', sa.String(length=8), server_default='M0', nullable=False),
    money_column('overdue', server_default=sa.text('0')),
    money_column('outstanding', nullable=True),
    sa.Column('next_due_date', sa.Date(), nullable=True),
    money_column('next_due_amount', nullable=True),
    sa.Column('maturity_date', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('as_of', sa.Date(), nullable=True),
    timestamp_column('updated_at'),
    sa.PrimaryKeyConstraint('loan_id', name=op.f('pk_loans'))
    )
    op.create_index('ix_loans_customer_id', 'loans', ['customer_id'], unique=False)
    op.create_table('promises',
    id_column('promise_id'),
    id_column('case_id', nullable=True),
    id_column('loan_id'),
    id_column('customer_id'),
    id_column('interaction_id', nullable=True),
    money_column('amount'),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('promised_date', sa.Date(), nullable=False),
    sa.Column('made_on', sa.Date(), nullable=False),
    money_column('amount_paid', server_default=sa.text('0')),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('resolved_on', sa.Date(), nullable=True),
    sa.Column('agent_id', sa.String(length=200), nullable=True),
    *created_updated_columns(),
    sa.PrimaryKeyConstraint('promise_id', name=op.f('pk_promises'))
    )
    op.create_index('ix_promises_open_loan_id', 'promises', ['loan_id'], unique=False, postgresql_where=sa.text("status = 'open'"))
    op.create_index('ix_promises_open_promised_date', 'promises', ['promised_date'], unique=False, postgresql_where=sa.text("status = 'open'"))
    op.create_table('risk',
    id_column('loan_id'),
    id_column('customer_id'),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('pd', sa.Numeric(precision=12, scale=8), nullable=True),
    sa.Column('grade', sa.String(length=8), nullable=True),
    sa.Column('model_version', sa.String(length=64), nullable=True),
    sa.Column('reason_codes', postgresql.ARRAY(sa.String(length=64)), nullable=True),
    sa.Column('classification', sa.String(length=32), nullable=True),
    sa.Column('ifrs9_stage', sa.Integer(), nullable=True),
    money_column('ecl', nullable=True),
    timestamp_column('updated_at'),
    sa.PrimaryKeyConstraint('loan_id', name=op.f('pk_risk'))
    )
    op.create_index('ix_risk_customer_id', 'risk', ['customer_id'], unique=False)
    op.create_table('tickets',
    id_column('ticket_id'),
    id_column('customer_id'),
    id_column('loan_id', nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('sla_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    *created_updated_columns(),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_tickets'))
    )
    op.create_index('ix_tickets_customer_id', 'tickets', ['customer_id'], unique=False)
    op.create_index('ix_tickets_status_sla_due_at', 'tickets', ['status', 'sla_due_at'], unique=False)
    op.create_table('case_events',
    identity_column('id'),
    id_column('case_id'),
    timestamp_column('at'),
    sa.Column('business_date', sa.Date(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=True),
    jsonb_object_column('details'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.case_id'], name=op.f('fk_case_events_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events'))
    )
    op.create_index('ix_case_events_case_id_id', 'case_events', ['case_id', 'id'], unique=False)
    op.create_table('consents',
    id_column('customer_id'),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('recorded_on', sa.Date(), nullable=True),
    timestamp_column('updated_at'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.customer_id'], name=op.f('fk_consents_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', 'channel', 'purpose', name='pk_consents')
    )
    op.create_table('contact_points',
    identity_column('id'),
    id_column('customer_id'),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('value', sa.String(length=254), nullable=False),
    sa.Column('label', sa.String(length=16), nullable=True),
    sa.Column('position', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.customer_id'], name=op.f('fk_contact_points_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_points')),
    sa.UniqueConstraint('customer_id', 'kind', 'value', name='uq_contact_points_customer_kind_value')
    )
    op.create_table('related_parties',
    identity_column('id'),
    id_column('customer_id'),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('relation', sa.String(length=32), nullable=False),
    id_column('party_customer_id', nullable=True),
    sa.Column('phones', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.customer_id'], name=op.f('fk_related_parties_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_related_parties'))
    )
    op.create_index('ix_related_parties_customer_id', 'related_parties', ['customer_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_related_parties_customer_id', table_name='related_parties')
    op.drop_table('related_parties')
    op.drop_table('contact_points')
    op.drop_table('consents')
    op.drop_index('ix_case_events_case_id_id', table_name='case_events')
    op.drop_table('case_events')
    op.drop_index('ix_tickets_status_sla_due_at', table_name='tickets')
    op.drop_index('ix_tickets_customer_id', table_name='tickets')
    op.drop_table('tickets')
    op.drop_index('ix_risk_customer_id', table_name='risk')
    op.drop_table('risk')
    op.drop_index('ix_promises_open_promised_date', table_name='promises', postgresql_where=sa.text("status = 'open'"))
    op.drop_index('ix_promises_open_loan_id', table_name='promises', postgresql_where=sa.text("status = 'open'"))
    op.drop_table('promises')
    op.drop_index('ix_loans_customer_id', table_name='loans')
    op.drop_table('loans')
    op.drop_index('ix_interactions_customer_id_occurred_at', table_name='interactions')
    op.drop_table('interactions')
    op.drop_table('installments_due')
    op.drop_table('customers')
    op.drop_table('contact_policies')
    op.drop_index('ix_communications_due', table_name='communications', postgresql_where=sa.text("status IN ('queued', 'deferred')"))
    op.drop_index('ix_communications_customer_id_created_at', table_name='communications')
    op.drop_table('communications')
    op.drop_index('uq_cases_open_loan', table_name='cases', postgresql_where=sa.text("status = 'open'"))
    op.drop_index('ix_cases_status_queue_case_id', table_name='cases')
    op.drop_index('ix_cases_customer_id', table_name='cases')
    op.drop_index('ix_cases_assignee', table_name='cases', postgresql_where=sa.text("status = 'open'"))
    op.drop_table('cases')
    op.drop_table('care_touchpoints')
    op.drop_table('business_calendar')
    op.drop_index('ix_audit_log_subject_at', table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_table('agents')
