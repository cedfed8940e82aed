"""alerts: caregiver alerts with a life (open, acknowledged, resolved; escalated SOS)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 01:00:00

"""
from alembic import op
import sqlalchemy as sa

import app.platform.models  # noqa: F401  (custom column types used below)


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('assist_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('latitude', sa.Double(), nullable=True),
    sa.Column('longitude', sa.Double(), nullable=True),
    sa.Column('raised_at', app.platform.models.UTCDateTime(), nullable=False),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', app.platform.models.UTCDateTime(), nullable=True),
    sa.Column('eta_minutes', sa.Integer(), nullable=True),
    sa.Column('message', sa.String(length=500), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', app.platform.models.UTCDateTime(), nullable=True),
    sa.Column('resolution', sa.String(length=500), nullable=True),
    sa.Column('escalated_at', app.platform.models.UTCDateTime(), nullable=True),
    sa.CheckConstraint("kind IN ('call_me', 'sos', 'stalled', 'moving_away', 'event_expiring', 'meter_expiring')", name=op.f('ck_alerts_kind')),
    sa.CheckConstraint("state IN ('open', 'acknowledged', 'resolved')", name=op.f('ck_alerts_state')),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'], name=op.f('fk_alerts_acknowledged_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['assist_id'], ['assist_requests.id'], name=op.f('fk_alerts_assist_id_assist_requests'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['parking_events.id'], name=op.f('fk_alerts_event_id_parking_events'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['users.id'], name=op.f('fk_alerts_person_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_alerts_resolved_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_person_state', ['person_id', 'state', 'id'], unique=False)
        batch_op.create_index('ix_alerts_state_kind_raised', ['state', 'kind', 'raised_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_event_id'), ['event_id'], unique=False)


def downgrade():
    op.drop_table('alerts')
