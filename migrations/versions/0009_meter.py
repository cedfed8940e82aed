"""parking_events.meter_expires_at: when the paid parking runs out

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 01:20:00

"""
from alembic import op
import sqlalchemy as sa

import app.platform.models  # noqa: F401  (custom column types used below)


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('parking_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('meter_expires_at', app.platform.models.UTCDateTime(), nullable=True))
        batch_op.create_index('ix_parking_events_status_meter', ['status', 'meter_expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('parking_events', schema=None) as batch_op:
        batch_op.drop_index('ix_parking_events_status_meter')
        batch_op.drop_column('meter_expires_at')
