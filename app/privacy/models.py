"""The access log: each time someone other than the person read the person's data."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.platform.extensions import db
from app.platform.models import JSONText, UTCDateTime, check_in, utcnow

# What a person types to close their account (DELETE /me): no account is closed by accident.
CONFIRM_PHRASE = "DELETE MY ACCOUNT"
ACCESS_ROLES = ("caregiver", "viewer", "admin")
# What was read: one value per read path (tests/privacy/test_access_log.py walks them all).
ACCESS_RESOURCES = (
    "latest_parking_event",
    "live_retrieval",
    "score_trend",
    "alerts",
    "alert",
    "profile",
    "bookings",
    "payments",
    "reservations",
)


class AccessLogEntry(db.Model):
    """``actor`` (a caregiver, viewer or admin) read ``resource`` of ``person`` at ``created_at``.

    Rows are only ever added (and purged after ``ACCESS_LOG_RETENTION_DAYS``); the person reads
    them, nobody can change them."""

    __tablename__ = "access_log"
    __table_args__ = (
        sa.CheckConstraint(check_in("actor_role", ACCESS_ROLES), name="actor_role"),
        sa.Index("ix_access_log_person_created", "person_id", "created_at"),
        sa.Index("ix_access_log_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    actor_role: Mapped[str] = mapped_column(sa.String(16))
    resource: Mapped[str] = mapped_column(sa.String(32))
    detail: Mapped[dict | None] = mapped_column(JSONText())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
