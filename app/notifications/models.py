"""The in-app inbox and the ledger of outgoing messages that makes every send happen once."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.platform.extensions import db
from app.platform.models import JSONText, UTCDateTime, utcnow


class Notification(db.Model):
    """One inbox entry. ``dedupe_key`` makes an alert land once, however often it is processed."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_user_read", "user_id", "read_at", "id"),
        # The retention job deletes by age.
        sa.Index("ix_notifications_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(48))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    data: Mapped[dict | None] = mapped_column(JSONText())
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(191), unique=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
