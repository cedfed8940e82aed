"""Parking memory: where the car is, the landmarks around it, and each retrieval's score."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.platform.extensions import db
from app.platform.models import JSONText, TimestampMixin, UTCDateTime, check_in, utcnow

EVENT_STATUSES = ("active", "retrieving", "retrieved", "expired")
LOCATION_TYPES = ("outdoor", "indoor")
RECALL_HOW = ("free", "cued", "recognized", "missed")
MAX_LANDMARKS = 10


class ParkingEvent(TimestampMixin, db.Model):
    """One saved parking place and, later, the walk back to it."""

    __tablename__ = "parking_events"
    __table_args__ = (
        sa.CheckConstraint(check_in("status", EVENT_STATUSES), name="status"),
        sa.CheckConstraint(check_in("location_type", LOCATION_TYPES), name="location_type"),
        sa.CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        sa.CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        sa.UniqueConstraint("user_id", "client_uuid"),
        # A user's events newest first, to the row (keyset cursors on (parked_at, id)).
        sa.Index("ix_parking_events_user_history", "user_id", "parked_at", "id"),
        sa.Index("ix_parking_events_user_status_history", "user_id", "status", "parked_at", "id"),
        sa.Index("ix_parking_events_status_parked", "status", "parked_at"),
        sa.Index("ix_parking_events_status_meter", "status", "meter_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    client_uuid: Mapped[str | None] = mapped_column(sa.String(36))
    latitude: Mapped[float] = mapped_column(sa.Double)
    longitude: Mapped[float] = mapped_column(sa.Double)
    accuracy_m: Mapped[float | None] = mapped_column(sa.Double)
    address: Mapped[str | None] = mapped_column(sa.String(255))
    location_type: Mapped[str] = mapped_column(sa.String(16), default="outdoor")
    level: Mapped[str | None] = mapped_column(sa.String(32))
    spot_label: Mapped[str | None] = mapped_column(sa.String(32))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bookings.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lots.id"), index=True)
    photo_upload_id: Mapped[int | None] = mapped_column(sa.ForeignKey("uploads.id"), index=True)
    parked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(sa.String(16), default="active")
    retrieval_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retrieval_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_seconds: Mapped[float] = mapped_column(sa.Double, default=0.0, server_default="0")
    retrieval_completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    start_latitude: Mapped[float | None] = mapped_column(sa.Double)
    start_longitude: Mapped[float | None] = mapped_column(sa.Double)
    last_latitude: Mapped[float | None] = mapped_column(sa.Double)
    last_longitude: Mapped[float | None] = mapped_column(sa.Double)
    last_position_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    distance_m: Mapped[float | None] = mapped_column(sa.Double)
    expected_seconds: Mapped[float | None] = mapped_column(sa.Double)
    # The walking pace the expected time was computed with, kept for the score.
    pace_m_per_s: Mapped[float | None] = mapped_column(sa.Double)
    found: Mapped[bool | None] = mapped_column(sa.Boolean)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the paid parking runs out (optional): reminders before and at that time.
    meter_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    landmarks: Mapped[list[Landmark]] = relationship(
        back_populates="event",
        order_by="Landmark.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise_on_sql",
    )
    score: Mapped[RetrievalScore | None] = relationship(
        back_populates="event",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise_on_sql",
    )


class Landmark(TimestampMixin, db.Model):
    """A personal cue near the car: "the blue door", "by the lift"."""

    __tablename__ = "landmarks"
    __table_args__ = (
        sa.CheckConstraint("latitude IS NULL OR latitude BETWEEN -90 AND 90", name="lat_range"),
        sa.CheckConstraint("longitude IS NULL OR longitude BETWEEN -180 AND 180", name="lng_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("parking_events.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str | None] = mapped_column(sa.String(500))
    latitude: Mapped[float | None] = mapped_column(sa.Double)
    longitude: Mapped[float | None] = mapped_column(sa.Double)
    photo_upload_id: Mapped[int | None] = mapped_column(sa.ForeignKey("uploads.id"), index=True)

    event: Mapped[ParkingEvent] = relationship(back_populates="landmarks", lazy="raise_on_sql")


class AssistRequest(db.Model):
    """One step up the assistance ladder: when, which level, and where the person was."""

    __tablename__ = "assist_requests"
    __table_args__ = (sa.CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("parking_events.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    level: Mapped[int] = mapped_column(sa.Integer)
    latitude: Mapped[float | None] = mapped_column(sa.Double)
    longitude: Mapped[float | None] = mapped_column(sa.Double)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RetrievalScore(db.Model):
    """The server-computed, versioned score of one retrieval, with every part kept."""

    __tablename__ = "retrieval_scores"
    __table_args__ = (
        sa.CheckConstraint("total BETWEEN 0 AND 100", name="total_range"),
        sa.Index("ix_retrieval_scores_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("parking_events.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    score_version: Mapped[int] = mapped_column(sa.Integer)
    landmark_recall: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 2))
    time_score: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2))
    assistance_score: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2))
    total: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2))
    expected_seconds: Mapped[float] = mapped_column(sa.Double)
    actual_seconds: Mapped[float] = mapped_column(sa.Double)
    distance_m: Mapped[float | None] = mapped_column(sa.Double)
    pace_m_per_s: Mapped[float | None] = mapped_column(sa.Double)
    highest_assist_level: Mapped[int] = mapped_column(sa.Integer)
    assist_count: Mapped[int] = mapped_column(sa.Integer)
    found: Mapped[bool] = mapped_column(sa.Boolean)
    recall: Mapped[list | None] = mapped_column(JSONText())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    event: Mapped[ParkingEvent] = relationship(back_populates="score", lazy="raise_on_sql")


class RetrievalPosition(db.Model):
    """Where the phone was during a walk back, as it reported (``recorded_at`` is the phone's
    time, so a phone that was offline catches up in order). Deleted a day after the walk."""

    __tablename__ = "retrieval_positions"
    __table_args__ = (sa.UniqueConstraint("event_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("parking_events.id", ondelete="CASCADE"))
    latitude: Mapped[float] = mapped_column(sa.Double)
    longitude: Mapped[float] = mapped_column(sa.Double)
    accuracy_m: Mapped[float | None] = mapped_column(sa.Double)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
