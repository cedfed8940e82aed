"""reservations; spot features; payments of reservations and cancellations; lot fee and zone

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 01:50:19.798439

"""
from alembic import op
import sqlalchemy as sa

import app.platform.models  # noqa: F401  (custom column types used below)


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reservations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('spot_id', sa.Integer(), nullable=True),
    sa.Column('vehicle_number', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('start_at', app.platform.models.UTCDateTime(), nullable=False),
    sa.Column('end_at', app.platform.models.UTCDateTime(), nullable=False),
    sa.Column('feature_mask', sa.Integer(), server_default='0', nullable=False),
    sa.Column('level', sa.Integer(), nullable=True),
    sa.Column('hourly_rate_cents', sa.Integer(), nullable=False),
    sa.Column('billing_increment_minutes', sa.Integer(), nullable=False),
    sa.Column('free_minutes', sa.Integer(), nullable=False),
    sa.Column('daily_max_cents', sa.Integer(), nullable=True),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('cancellation_fee_cents', sa.Integer(), nullable=False),
    sa.Column('cost_cents', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('checked_in_at', app.platform.models.UTCDateTime(), nullable=True),
    sa.Column('ended_at', app.platform.models.UTCDateTime(), nullable=True),
    sa.Column('cancelled_at', app.platform.models.UTCDateTime(), nullable=True),
    sa.Column('start_reminded_at', app.platform.models.UTCDateTime(), nullable=True),
    sa.Column('no_show_warned_at', app.platform.models.UTCDateTime(), nullable=True),
    sa.Column('end_reminded_at', app.platform.models.UTCDateTime(), nullable=True),
    sa.Column('spot_lost_notified_at', app.platform.models.UTCDateTime(), nullable=True),
    sa.Column('created_at', app.platform.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', app.platform.models.UTCDateTime(), nullable=False),
    sa.CheckConstraint("status IN ('confirmed', 'checked_in', 'completed', 'cancelled', 'no_show')", name=op.f('ck_reservations_status')),
    sa.CheckConstraint('amount_cents >= 0', name=op.f('ck_reservations_amount_non_negative')),
    sa.CheckConstraint('cancellation_fee_cents >= 0', name=op.f('ck_reservations_fee_non_negative')),
    sa.CheckConstraint('end_at > start_at', name=op.f('ck_reservations_interval_positive')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_reservations_lot_id_lots')),
    sa.ForeignKeyConstraint(['spot_id'], ['spots.id'], name=op.f('fk_reservations_spot_id_spots')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reservations_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reservations'))
    )
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.create_index('ix_reservations_lot_status_start', ['lot_id', 'status', 'start_at'], unique=False)
        batch_op.create_index('ix_reservations_spot_status_start', ['spot_id', 'status', 'start_at'], unique=False)
        batch_op.create_index('ix_reservations_status_end', ['status', 'end_at'], unique=False)
        batch_op.create_index('ix_reservations_status_start', ['status', 'start_at'], unique=False)
        batch_op.create_index('ix_reservations_user_start', ['user_id', 'start_at'], unique=False)

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reservation_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('overstay_warned_at', app.platform.models.UTCDateTime(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_bookings_reservation_id'), ['reservation_id'])
        batch_op.create_foreign_key(batch_op.f('fk_bookings_reservation_id_reservations'), 'reservations', ['reservation_id'], ['id'])

    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancellation_fee_cents', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))
        batch_op.create_check_constraint(op.f('ck_lots_cancellation_fee_non_negative'), 'cancellation_fee_cents >= 0')

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reservation_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('kind', sa.String(length=24), server_default='parking', nullable=False))
        batch_op.add_column(sa.Column('provider', sa.String(length=32), server_default='manual', nullable=False))
        batch_op.add_column(sa.Column('provider_reference', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('refunded_at', app.platform.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('refund_reason', sa.String(length=500), nullable=True))
        batch_op.alter_column('booking_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_index('ix_payments_lot_status_created', ['lot_id', 'status', 'created_at'], unique=False)
        batch_op.create_index('ix_payments_user_created', ['user_id', 'created_at'], unique=False)
        batch_op.create_unique_constraint('uq_payments_reservation_kind', ['reservation_id', 'kind'])
        batch_op.create_foreign_key(batch_op.f('fk_payments_reservation_id_reservations'), 'reservations', ['reservation_id'], ['id'])
        batch_op.create_check_constraint(op.f('ck_payments_kind'), "kind IN ('parking', 'cancellation_fee')")

    with op.batch_alter_table('spots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feature_mask', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('spots', schema=None) as batch_op:
        batch_op.drop_column('feature_mask')

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payments_kind'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_payments_reservation_id_reservations'), type_='foreignkey')
        batch_op.drop_constraint('uq_payments_reservation_kind', type_='unique')
        batch_op.drop_index('ix_payments_user_created')
        batch_op.drop_index('ix_payments_lot_status_created')
        batch_op.alter_column('booking_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('refund_reason')
        batch_op.drop_column('refunded_at')
        batch_op.drop_column('provider_reference')
        batch_op.drop_column('provider')
        batch_op.drop_column('kind')
        batch_op.drop_column('reservation_id')

    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_lots_cancellation_fee_non_negative'), type_='check')
        batch_op.drop_column('timezone')
        batch_op.drop_column('cancellation_fee_cents')

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_bookings_reservation_id_reservations'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_bookings_reservation_id'), type_='unique')
        batch_op.drop_column('overstay_warned_at')
        batch_op.drop_column('reservation_id')

    # Dropping the table drops its indexes (MariaDB refuses to drop those a foreign key uses).
    op.drop_table('reservations')
