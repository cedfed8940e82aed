"""Parking lots and their spots."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.platform.extensions import db
from app.platform.models import TimestampMixin, UTCDateTime, check_in

SPOT_STATUSES = ("available", "out_of_service", "removed")


class Lot(TimestampMixin, db.Model):
    """A parking lot with its price rule. Deleting hides it; its history stays."""

    __tablename__ = "lots"
    __table_args__ = (
        sa.CheckConstraint("hourly_rate_cents >= 0", name="rate_non_negative"),
        sa.CheckConstraint("billing_increment_minutes >= 1", name="increment_positive"),
        sa.CheckConstraint("free_minutes >= 0", name="free_non_negative"),
        sa.CheckConstraint(
            "daily_max_cents IS NULL OR daily_max_cents >= 0", name="daily_max_non_negative"
        ),
        sa.CheckConstraint("cancellation_fee_cents >= 0", name="cancellation_fee_non_negative"),
        # The lot list's order among live lots: a page is read from here, no sort of every lot.
        sa.Index("ix_lots_live_name", "deleted_at", "name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), index=True)
    address: Mapped[str] = mapped_column(sa.String(255))
    pin_code: Mapped[str] = mapped_column(sa.String(16), index=True)
    latitude: Mapped[float | None] = mapped_column(sa.Double)
    longitude: Mapped[float | None] = mapped_column(sa.Double)
    levels: Mapped[int] = mapped_column(sa.Integer, default=1, server_default="1")
    hourly_rate_cents: Mapped[int] = mapped_column(sa.Integer)
    billing_increment_minutes: Mapped[int] = mapped_column(
        sa.Integer, default=60, server_default="60"
    )
    free_minutes: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    daily_max_cents: Mapped[int | None] = mapped_column(sa.Integer)
    # What a reservation cancelled late costs (frozen on each reservation when it is made).
    cancellation_fee_cents: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    # IANA zone the lot's receipts are written in; NULL: the operator's TIMEZONE.
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    spots: Mapped[list[Spot]] = relationship(
        back_populates="lot", order_by="Spot.number", lazy="raise_on_sql"
    )


class Spot(db.Model):
    """One numbered spot. ``is_occupied`` is taken and freed only inside booking transactions
    (a checked-in reservation is an active booking)."""

    __tablename__ = "spots"
    __table_args__ = (
        sa.UniqueConstraint("lot_id", "number"),
        sa.CheckConstraint(check_in("status", SPOT_STATUSES), name="status"),
        sa.Index("ix_spots_allocation", "lot_id", "status", "is_occupied", "number"),
        # Every column the lot list and the dashboard count (app.lots.service): a page's counts
        # read only this index, never the table, whatever the optimizer's statistics say.
        sa.Index("ix_spots_lot_counts", "lot_id", "status", "is_occupied", "feature_mask"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lots.id"))
    number: Mapped[int] = mapped_column(sa.Integer)
    level: Mapped[int | None] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(16), default="available")
    is_occupied: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    # Bits of ``app.lots.features.FEATURES`` (accessible, ev_charging, covered, near_exit).
    feature_mask: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")

    lot: Mapped[Lot] = relationship(back_populates="spots", lazy="raise_on_sql")
