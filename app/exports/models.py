"""CSV exports produced in the background."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.platform.extensions import db
from app.platform.models import UTCDateTime, check_in, utcnow

# CSV exports a client asks for by kind; the personal-data ZIP is started by POST /me/data-export.
CSV_KINDS = ("bookings", "parking_events")
EXPORT_KINDS = (*CSV_KINDS, "personal_data")
EXPORT_STATUSES = ("pending", "running", "done", "failed", "expired")
# How a CSV is written: "default" for programs (ISO UTC times, integer cents), "excel" for people
# opening it in a spreadsheet (BOM, major units, local times).
CSV_PROFILES = ("default", "excel")


class Export(db.Model):
    """One export request; its file lives in storage under the export's own key.

    ``active_user_id`` equals ``user_id`` while the export is pending or running and is NULL
    afterwards: its unique index is the database's guarantee of one export in progress per user.
    """

    __tablename__ = "exports"
    __table_args__ = (
        sa.CheckConstraint(check_in("kind", EXPORT_KINDS), name="kind"),
        sa.CheckConstraint(check_in("status", EXPORT_STATUSES), name="status"),
        sa.Index("ix_exports_user_status", "user_id", "status"),
        sa.Index("ix_exports_status_created", "status", "created_at"),
        sa.Index("ix_exports_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    active_user_id: Mapped[int | None] = mapped_column(sa.Integer, unique=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    email: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    profile: Mapped[str] = mapped_column(sa.String(16), default="default", server_default="default")
    # 0-100 while running (rows written of rows to write); 100 when done; None for a ZIP.
    progress: Mapped[int | None] = mapped_column(sa.Integer)
    date_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    date_to: Mapped[datetime | None] = mapped_column(UTCDateTime())
    row_count: Mapped[int | None] = mapped_column(sa.Integer)
    storage_key: Mapped[str | None] = mapped_column(sa.String(255))
    error: Mapped[str | None] = mapped_column(sa.String(255))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When the export was last handed to the broker; the sweeper re-sends pending ones.
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Stamped every few seconds by the task producing the file; a stale stamp means its worker died.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
