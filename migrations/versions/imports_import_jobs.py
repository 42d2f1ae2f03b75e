"""import jobs: browser imports run by a background worker

Revision ID: imports_import_jobs
Revises: 0005
Create Date: 2026-12-04 04:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'imports_import_jobs'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('hub_id', sa.Integer(), nullable=True),
    sa.Column('employer_id', sa.Integer(), nullable=True),
    sa.Column('stored_name', sa.String(length=40), nullable=False),
    sa.Column('original_name', sa.String(length=200), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('rows_estimate', sa.Integer(), nullable=False),
    sa.Column('rows_checked', sa.Integer(), nullable=False),
    sa.Column('rows_written', sa.Integer(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['employer_id'], ['employers.id'], name=op.f('fk_import_jobs_employer_id_employers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hub_id'], ['hubs.id'], name=op.f('fk_import_jobs_hub_id_hubs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_import_jobs_owner_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_import_jobs_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_jobs'))
    )
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_jobs_employer_id'), ['employer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_jobs_hub_id'), ['hub_id'], unique=False)
        batch_op.create_index('ix_import_jobs_school_created', ['school_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_import_jobs_school_created')
        batch_op.drop_index(batch_op.f('ix_import_jobs_hub_id'))
        batch_op.drop_index(batch_op.f('ix_import_jobs_employer_id'))

    op.drop_table('import_jobs')
