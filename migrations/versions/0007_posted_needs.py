"""posted needs

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 22:29:08.632124

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('posted_needs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('hub_id', sa.Integer(), nullable=True),
    sa.Column('posted_by_id', sa.Integer(), nullable=True),
    sa.Column('year_group', sa.Integer(), nullable=False),
    sa.Column('places', sa.Integer(), nullable=False),
    sa.Column('date_from', sa.Date(), nullable=False),
    sa.Column('date_to', sa.Date(), nullable=False),
    sa.Column('need_counts', sa.JSON(), nullable=False),
    sa.Column('sectors', sa.String(length=400), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('answered_session_id', sa.Integer(), nullable=True),
    sa.Column('answered_by_employer_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['answered_by_employer_id'], ['employers.id'], name=op.f('fk_posted_needs_answered_by_employer_id_employers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['answered_session_id'], ['offer_sessions.id'], name=op.f('fk_posted_needs_answered_session_id_offer_sessions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['hub_id'], ['hubs.id'], name=op.f('fk_posted_needs_hub_id_hubs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['posted_by_id'], ['users.id'], name=op.f('fk_posted_needs_posted_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_posted_needs_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_posted_needs'))
    )
    with op.batch_alter_table('posted_needs', schema=None) as batch_op:
        batch_op.create_index('ix_posted_needs_hub_status', ['hub_id', 'status'], unique=False)
        batch_op.create_index('ix_posted_needs_school_status', ['school_id', 'status'], unique=False)
        batch_op.create_index('ix_posted_needs_status_expires', ['status', 'expires_on'], unique=False)



def downgrade():
    with op.batch_alter_table('posted_needs', schema=None) as batch_op:
        batch_op.drop_index('ix_posted_needs_status_expires')
        batch_op.drop_index('ix_posted_needs_school_status')
        batch_op.drop_index('ix_posted_needs_hub_status')

    op.drop_table('posted_needs')
