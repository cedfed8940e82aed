"""The phones and browsers a user receives push notifications on."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.platform.extensions import db
from app.platform.models import UTCDateTime, check_in, utcnow

DEVICE_KINDS = ("webpush", "fcm", "apns")


class Device(db.Model):
    """A Web Push subscription (``endpoint`` and its keys) or a native FCM/APNs ``token``.

    ``address_hash`` (SHA-256 of the endpoint or token) is unique: one browser or app install is
    one device, whoever registered it last.
    """

    __tablename__ = "devices"
    __table_args__ = (sa.CheckConstraint(check_in("kind", DEVICE_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str | None] = mapped_column(sa.String(120))
    endpoint: Mapped[str | None] = mapped_column(sa.String(1024))
    p256dh: Mapped[str | None] = mapped_column(sa.String(128))
    auth: Mapped[str | None] = mapped_column(sa.String(64))
    token: Mapped[str | None] = mapped_column(sa.String(512))
    address_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
