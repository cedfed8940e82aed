"""retrieval_positions: where the phone was during a walk back, for caregivers' live view

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 00:40:00

"""
from alembic import op
import sqlalchemy as sa

import app.platform.models  # noqa: F401  (custom column types used below)


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('retrieval_positions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('latitude', sa.Double(), nullable=False),
    sa.Column('longitude', sa.Double(), nullable=False),
    sa.Column('accuracy_m', sa.Double(), nullable=True),
    sa.Column('recorded_at', app.platform.models.UTCDateTime(), nullable=False),
    sa.Column('received_at', app.platform.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['parking_events.id'], name=op.f('fk_retrieval_positions_event_id_parking_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retrieval_positions')),
    sa.UniqueConstraint('event_id', 'recorded_at', name=op.f('uq_retrieval_positions_event_id_recorded_at'))
    )


def downgrade():
    op.drop_table('retrieval_positions')
