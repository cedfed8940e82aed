"""The in-app inbox and the ledger of outgoing messages that makes every send happen once."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import JSONText, UTCDateTime, check_in, utcnow

MESSAGE_CHANNELS = ("email", "webhook")
MESSAGE_STATUSES = ("pending", "sent", "failed")


class Notification(db.Model):
    """One inbox entry. ``dedupe_key`` makes an alert land once, however often it is processed."""

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_read", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(48))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    data: Mapped[dict | None] = mapped_column(JSONText())
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(191), unique=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OutboundMessage(db.Model):
    """An e-mail or webhook post, recorded under a unique key before it is sent."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        sa.CheckConstraint(check_in("channel", MESSAGE_CHANNELS), name="channel"),
        sa.CheckConstraint(check_in("status", MESSAGE_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(sa.String(191), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    recipient: Mapped[str] = mapped_column(sa.String(255))
    subject: Mapped[str | None] = mapped_column(sa.String(255))
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
