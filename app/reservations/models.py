"""Reservations: a spot promised for a future interval ``[start_at, end_at)``."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.platform.extensions import db
from app.platform.models import TimestampMixin, UTCDateTime, check_in

RESERVATION_STATUSES = ("confirmed", "checked_in", "completed", "cancelled", "no_show")
# The statuses that hold a spot for the reservation's interval.
HOLDING_STATUSES = ("confirmed", "checked_in")


class Reservation(TimestampMixin, db.Model):
    """A promise of one spot for an interval, with the price rule and the late-cancellation
    fee frozen when it was made.

    A checked-in reservation is also an active booking (``Booking.reservation_id``): the car in
    the spot is one commitment, whichever way it arrived. ``spot_id`` is NULL while the promised
    spot is blocked (an earlier car overstayed) and no other matching spot is free; the driver
    has been told.
    """

    __tablename__ = "reservations"
    __table_args__ = (
        sa.CheckConstraint(check_in("status", RESERVATION_STATUSES), name="status"),
        sa.CheckConstraint("end_at > start_at", name="interval_positive"),
        sa.CheckConstraint("amount_cents >= 0", name="amount_non_negative"),
        sa.CheckConstraint("cancellation_fee_cents >= 0", name="fee_non_negative"),
        sa.Index("ix_reservations_spot_status_start", "spot_id", "status", "start_at"),
        sa.Index("ix_reservations_user_start", "user_id", "start_at"),
        sa.Index("ix_reservations_lot_status_start", "lot_id", "status", "start_at"),
        sa.Index("ix_reservations_status_start", "status", "start_at"),
        sa.Index("ix_reservations_status_end", "status", "end_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lots.id"))
    spot_id: Mapped[int | None] = mapped_column(sa.ForeignKey("spots.id"))
    vehicle_number: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(16), default="confirmed")
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    feature_mask: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    level: Mapped[int | None] = mapped_column(sa.Integer)
    hourly_rate_cents: Mapped[int] = mapped_column(sa.Integer)
    billing_increment_minutes: Mapped[int] = mapped_column(sa.Integer)
    free_minutes: Mapped[int] = mapped_column(sa.Integer)
    daily_max_cents: Mapped[int | None] = mapped_column(sa.Integer)
    # Quoted price of [start_at, end_at) under the frozen rule (re-quoted on extension).
    amount_cents: Mapped[int] = mapped_column(sa.Integer)
    # The late-cancellation fee frozen from the lot; once cancelled, the fee charged (0 if free).
    cancellation_fee_cents: Mapped[int] = mapped_column(sa.Integer, default=0)
    cost_cents: Mapped[int | None] = mapped_column(sa.Integer)
    currency: Mapped[str] = mapped_column(sa.String(3))
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Reminder claims: each reminder is promised (outbox) once, in the job that stamps it.
    start_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    no_show_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    spot_lost_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
