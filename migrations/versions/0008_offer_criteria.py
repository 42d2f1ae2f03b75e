"""offer criteria: the meaningful-experience criteria an offer provides

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 16:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('offer_criteria',
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('criterion', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['offer_id'], ['offers.id'], name=op.f('fk_offer_criteria_offer_id_offers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('offer_id', 'criterion', name=op.f('pk_offer_criteria'))
    )


def downgrade():
    op.drop_table('offer_criteria')
