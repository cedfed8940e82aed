"""Files uploaded straight to object storage."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.platform.extensions import db
from app.platform.models import UTCDateTime, check_in, utcnow

UPLOAD_PURPOSES = ("parking_event_photo", "landmark_photo", "avatar")
UPLOAD_STATUSES = ("pending", "ready", "deleted")
CONTENT_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


class Upload(db.Model):
    """An object in storage under a key the server chose. Only ``ready`` ones can be attached."""

    __tablename__ = "uploads"
    __table_args__ = (
        sa.CheckConstraint(check_in("purpose", UPLOAD_PURPOSES), name="purpose"),
        sa.CheckConstraint(check_in("status", UPLOAD_STATUSES), name="status"),
        sa.CheckConstraint("size_bytes > 0", name="size_positive"),
        sa.Index("ix_uploads_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(32))
    content_type: Mapped[str] = mapped_column(sa.String(32))
    size_bytes: Mapped[int] = mapped_column(sa.Integer)
    storage_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When a profile, parking event or landmark took it: one photo has one owner, so discarding
    # it with that owner never removes another's photo.
    attached_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
