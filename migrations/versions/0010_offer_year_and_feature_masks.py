"""offer year and feature masks: the distance index checks year group and features without a subquery per offer

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 01:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# portal.offers.models.YEAR_BITS and FEATURE_BITS when written (bits never move).
YEAR_BITS = {year: 1 << year for year in range(7, 14)}
FEATURE_BITS = {code: 1 << index for index, code in enumerate((
    "step_free_access", "accessible_toilet", "quiet_space", "sensory_friendly", "flexible_hours",
    "supporting_adult_welcome", "autism_aware_staff", "bsl_makaton", "easy_read_materials", "remote_option",
    "near_public_transport", "transport_provided"))}


def _sum_of_bits(table, column, bits):
    """SQL: the sum of the bits of the offer's rows in table (0 when it has none)."""
    whens = " ".join(f"WHEN {code!r} THEN {bit}" if isinstance(code, str) else f"WHEN {code} THEN {bit}"
                     for code, bit in bits.items())
    return (f"(SELECT COALESCE(SUM(CASE {column} {whens} ELSE 0 END), 0) FROM {table} "
            f"WHERE {table}.offer_id = offers.id)")


def upgrade():
    op.add_column('offers', sa.Column('year_mask', sa.Integer(), server_default='0', nullable=False))
    op.add_column('offers', sa.Column('feature_mask', sa.Integer(), server_default='0', nullable=False))
    op.execute(f"UPDATE offers SET year_mask = {_sum_of_bits('offer_year_groups', 'year_group', YEAR_BITS)}, "
               f"feature_mask = {_sum_of_bits('offer_features', 'feature', FEATURE_BITS)}")
    op.drop_index('ix_offers_search_cell', table_name='offers')
    op.create_index('ix_offers_search_cell', 'offers',
                    ['status', 'lon_cell', 'latitude', 'longitude', 'last_session_starts_at', 'employer_id',
                     'year_mask', 'feature_mask'])


def downgrade():
    op.drop_index('ix_offers_search_cell', table_name='offers')
    op.create_index('ix_offers_search_cell', 'offers',
                    ['status', 'lon_cell', 'latitude', 'longitude', 'last_session_starts_at', 'employer_id'])
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy of the table would try to write the generated lon_cell.
    op.drop_column('offers', 'feature_mask')
    op.drop_column('offers', 'year_mask')
