"""Bookings: a car in a spot now, with the price rule frozen when it arrived."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.lots.models import Lot, Spot
from app.platform.extensions import db
from app.platform.models import TimestampMixin, UTCDateTime, check_in, utcnow

BOOKING_STATUSES = ("active", "completed", "cancelled")


class Booking(TimestampMixin, db.Model):
    """A stay in a spot, with the price rule frozen at booking time.

    ``active_spot_id`` and ``active_user_id`` equal ``spot_id``/``user_id`` while the booking is
    active and are NULL afterwards: their unique indexes are the database's guarantee that no spot
    and no user ever holds two active bookings.
    """

    __tablename__ = "bookings"
    __table_args__ = (
        sa.CheckConstraint(check_in("status", BOOKING_STATUSES), name="status"),
        sa.CheckConstraint("cost_cents IS NULL OR cost_cents >= 0", name="cost_non_negative"),
        # A user's history newest first, in index order to the row: the page's ids come from
        # here (keyset cursors on (started_at, id)); with ``?status=``, the second one.
        sa.Index("ix_bookings_user_started", "user_id", "started_at", "id"),
        sa.Index("ix_bookings_user_status_started", "user_id", "status", "started_at", "id"),
        sa.Index("ix_bookings_lot_status", "lot_id", "status"),
        sa.Index("ix_bookings_status_started", "status", "started_at"),
        sa.Index("ix_bookings_ended", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lots.id"))
    spot_id: Mapped[int] = mapped_column(sa.ForeignKey("spots.id"), index=True)
    active_spot_id: Mapped[int | None] = mapped_column(sa.Integer, unique=True)
    active_user_id: Mapped[int | None] = mapped_column(sa.Integer, unique=True)
    vehicle_number: Mapped[str] = mapped_column(sa.String(32))
    remarks: Mapped[str | None] = mapped_column(sa.String(500))
    status: Mapped[str] = mapped_column(sa.String(16), default="active")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_minutes: Mapped[int | None] = mapped_column(sa.Integer)
    hourly_rate_cents: Mapped[int] = mapped_column(sa.Integer)
    billing_increment_minutes: Mapped[int] = mapped_column(sa.Integer)
    free_minutes: Mapped[int] = mapped_column(sa.Integer)
    daily_max_cents: Mapped[int | None] = mapped_column(sa.Integer)
    cost_cents: Mapped[int | None] = mapped_column(sa.Integer)
    currency: Mapped[str] = mapped_column(sa.String(3))
    # Set when the booking is a reservation's check-in: billed by the reservation's rules.
    reservation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("reservations.id"), unique=True
    )
    # When the driver was told the spot is reserved by someone else soon (one reminder).
    overstay_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="raise_on_sql")
    lot: Mapped[Lot] = relationship(lazy="raise_on_sql")
    spot: Mapped[Spot] = relationship(lazy="raise_on_sql")
