"""The admin audit log: every change an admin makes, who made it and when."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.platform.extensions import db
from app.platform.models import JSONText, UTCDateTime, utcnow


class AdminAudit(db.Model):
    """One admin action on one target (``payment`` 12 ``marked_paid``), with its details.
    Rows are only ever added: the log is the operator's answer to "who did this"."""

    __tablename__ = "admin_audit"
    __table_args__ = (
        sa.Index("ix_admin_audit_created", "created_at"),
        sa.Index("ix_admin_audit_action_created", "action", "created_at"),
        sa.Index("ix_admin_audit_actor_created", "actor_id", "created_at"),
        sa.Index("ix_admin_audit_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(64))
    target_type: Mapped[str] = mapped_column(sa.String(32))
    target_id: Mapped[int] = mapped_column(sa.Integer)
    detail: Mapped[dict | None] = mapped_column(JSONText())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StatCounter(db.Model):
    """One shard of one dashboard figure (``app.platform.rollups``): kept by triggers, summed by
    the dashboard. ``slot`` is 0 for plain counters and the 15-minute slot for revenue."""

    __tablename__ = "stat_counters"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    slot: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    shard: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0)
