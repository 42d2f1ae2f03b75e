"""adjustment requests, supporting adults, confirmed features

Revision ID: 0006
Revises: imports_import_jobs
Create Date: 2026-12-04 21:18:53.107633

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = 'imports_import_jobs'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('adjustment_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('hub_id', sa.Integer(), nullable=True),
    sa.Column('student_id', sa.Integer(), nullable=True),
    sa.Column('employer_id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('year_group', sa.Integer(), nullable=False),
    sa.Column('needs', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('asked_by_id', sa.Integer(), nullable=True),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer_note', sa.String(length=500), nullable=False),
    sa.Column('added_to_offer', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_adjustment_requests_answered_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['asked_by_id'], ['users.id'], name=op.f('fk_adjustment_requests_asked_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['employer_id'], ['employers.id'], name=op.f('fk_adjustment_requests_employer_id_employers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hub_id'], ['hubs.id'], name=op.f('fk_adjustment_requests_hub_id_hubs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['offer_id'], ['offers.id'], name=op.f('fk_adjustment_requests_offer_id_offers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_adjustment_requests_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['offer_sessions.id'], name=op.f('fk_adjustment_requests_session_id_offer_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_adjustment_requests_student_id_students'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_adjustment_requests'))
    )
    with op.batch_alter_table('adjustment_requests', schema=None) as batch_op:
        batch_op.create_index('ix_adjustment_requests_employer_status', ['employer_id', 'status'], unique=False)
        batch_op.create_index('ix_adjustment_requests_hub_status', ['hub_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_adjustment_requests_offer_id'), ['offer_id'], unique=False)
        batch_op.create_index('ix_adjustment_requests_school_status', ['school_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_adjustment_requests_session_id'), ['session_id'], unique=False)
        batch_op.create_index('ix_adjustment_requests_status_asked', ['status', 'asked_at'], unique=False)
        batch_op.create_index('ix_adjustment_requests_student_status', ['student_id', 'status'], unique=False)
        batch_op.create_index('uq_adjustment_requests_open', ['student_id', 'session_id'], unique=True, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

    op.create_table('feature_confirmations',
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('feature', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('employer_id', sa.Integer(), nullable=False),
    sa.Column('present', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_feature_confirmations_booking_id_bookings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['employer_id'], ['employers.id'], name=op.f('fk_feature_confirmations_employer_id_employers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['offer_id'], ['offers.id'], name=op.f('fk_feature_confirmations_offer_id_offers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_feature_confirmations_recorded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('booking_id', 'feature', 'source', name=op.f('pk_feature_confirmations'))
    )
    with op.batch_alter_table('feature_confirmations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feature_confirmations_employer_id'), ['employer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feature_confirmations_offer_id'), ['offer_id'], unique=False)

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('supporting_adult_name', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('supporting_adult_role', sa.String(length=30), nullable=True))

    with op.batch_alter_table('offer_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('adults_booked', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_check_constraint(op.f('ck_offer_sessions_adult_places_not_negative'), 'adults_booked >= 0')

    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('supporting_adults_max', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.add_column(sa.Column('match_radius_km', sa.Float(), server_default='15', nullable=False))

    with op.batch_alter_table('students', schema=None) as batch_op:
        batch_op.add_column(sa.Column('supporting_adult', sa.String(length=30), nullable=True))



def downgrade():
    with op.batch_alter_table('students', schema=None) as batch_op:
        batch_op.drop_column('supporting_adult')

    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.drop_column('match_radius_km')

    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.drop_column('supporting_adults_max')

    with op.batch_alter_table('offer_sessions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_offer_sessions_adult_places_not_negative'), type_='check')
        batch_op.drop_column('adults_booked')

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_column('supporting_adult_role')
        batch_op.drop_column('supporting_adult_name')

    with op.batch_alter_table('feature_confirmations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feature_confirmations_offer_id'))
        batch_op.drop_index(batch_op.f('ix_feature_confirmations_employer_id'))

    op.drop_table('feature_confirmations')
    with op.batch_alter_table('adjustment_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_adjustment_requests_open', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_index('ix_adjustment_requests_student_status')
        batch_op.drop_index('ix_adjustment_requests_status_asked')
        batch_op.drop_index(batch_op.f('ix_adjustment_requests_session_id'))
        batch_op.drop_index('ix_adjustment_requests_school_status')
        batch_op.drop_index(batch_op.f('ix_adjustment_requests_offer_id'))
        batch_op.drop_index('ix_adjustment_requests_hub_status')
        batch_op.drop_index('ix_adjustment_requests_employer_status')

    op.drop_table('adjustment_requests')
