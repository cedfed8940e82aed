"""devices: Web Push subscriptions and FCM/APNs tokens; push joins the outbound message ledger

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 00:10:00

"""
from alembic import op
import sqlalchemy as sa

import app.platform.models  # noqa: F401  (custom column types used below)


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=True),
    sa.Column('endpoint', sa.String(length=1024), nullable=True),
    sa.Column('p256dh', sa.String(length=128), nullable=True),
    sa.Column('auth', sa.String(length=64), nullable=True),
    sa.Column('token', sa.String(length=512), nullable=True),
    sa.Column('address_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', app.platform.models.UTCDateTime(), nullable=False),
    sa.Column('last_used_at', app.platform.models.UTCDateTime(), nullable=True),
    sa.CheckConstraint("kind IN ('webpush', 'fcm', 'apns')", name=op.f('ck_devices_kind')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_devices_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_devices')),
    sa.UniqueConstraint('address_hash', name=op.f('uq_devices_address_hash'))
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_devices_user_id'), ['user_id'], unique=False)
    _channels("('email', 'webhook', 'push')")


def downgrade():
    op.execute("DELETE FROM outbound_messages WHERE channel = 'push'")
    _channels("('email', 'webhook')")
    op.drop_table('devices')  # its index and foreign key go with it


def _channels(allowed: str) -> None:
    """Replace the check constraint on outbound_messages.channel."""
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbound_messages_channel'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outbound_messages_channel'), f"channel IN {allowed}")
