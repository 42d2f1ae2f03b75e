"""offer longitude cells: the distance index seeks strips of longitude, then a latitude range

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 16:35:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

LON_CELL_SQL = "CAST((longitude + 180) * 4 AS INTEGER)"  # portal.geo.distance.LON_CELL_SQL when written


def upgrade():
    op.add_column('offers', sa.Column('lon_cell', sa.Integer(), sa.Computed(LON_CELL_SQL), nullable=True))
    op.drop_index('ix_offers_search_location', table_name='offers')
    op.create_index('ix_offers_search_cell', 'offers',
                    ['status', 'lon_cell', 'latitude', 'longitude', 'last_session_starts_at', 'employer_id'])


def downgrade():
    op.drop_index('ix_offers_search_cell', table_name='offers')
    op.create_index('ix_offers_search_location', 'offers',
                    ['status', 'latitude', 'longitude', 'last_session_starts_at', 'employer_id'])
    with op.batch_alter_table('offers') as batch:
        batch.drop_column('lon_cell')
