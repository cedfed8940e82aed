"""The care circle: who a person has chosen to help them, and every change to it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.platform.extensions import db
from app.platform.models import JSONText, UTCDateTime, check_in, utcnow

CIRCLE_ROLES = ("caregiver", "viewer")
MEMBERSHIP_STATUSES = ("pending", "accepted", "declined", "revoked", "left", "expired")
OPEN_STATUSES = ("pending", "accepted")


class CircleMembership(db.Model):
    """An invitation and, once accepted, a membership. Access exists only while ``accepted``.

    ``open_key`` is ``"<person>:<member>"`` while pending or accepted and NULL otherwise, so the
    database allows one open invitation or membership per pair.
    """

    __tablename__ = "circle_memberships"
    __table_args__ = (
        sa.CheckConstraint(check_in("role", CIRCLE_ROLES), name="role"),
        sa.CheckConstraint(check_in("status", MEMBERSHIP_STATUSES), name="status"),
        sa.CheckConstraint("person_id <> member_id", name="not_self"),
        sa.Index("ix_circle_memberships_person_status", "person_id", "status"),
        sa.Index("ix_circle_memberships_member_status", "member_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    open_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    person: Mapped[User] = relationship(foreign_keys=[person_id], lazy="raise_on_sql")
    member: Mapped[User] = relationship(foreign_keys=[member_id], lazy="raise_on_sql")


class CircleAudit(db.Model):
    """Who changed a circle, what they did, and when."""

    __tablename__ = "circle_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    membership_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("circle_memberships.id"), index=True
    )
    action: Mapped[str] = mapped_column(sa.String(32))
    details: Mapped[dict | None] = mapped_column(JSONText())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


ALERT_KINDS = ("call_me", "sos", "stalled", "moving_away", "event_expiring", "meter_expiring")
ALERT_STATES = ("open", "acknowledged", "resolved")


class Alert(db.Model):
    """Something the care circle must act on, with a life: ``open`` until a caregiver says they
    are handling it (``acknowledged``, with an ETA), ``resolved`` when the car is found, the walk
    ends, or someone closes it. An SOS left open too long is sent again (``escalated_at``)."""

    __tablename__ = "alerts"
    __table_args__ = (
        sa.CheckConstraint(check_in("kind", ALERT_KINDS), name="kind"),
        sa.CheckConstraint(check_in("state", ALERT_STATES), name="state"),
        sa.Index("ix_alerts_person_state", "person_id", "state", "id"),
        sa.Index("ix_alerts_state_kind_raised", "state", "kind", "raised_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    # An alert outlives its parking event (the circle's record of what happened).
    event_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("parking_events.id", ondelete="SET NULL"), index=True
    )
    assist_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("assist_requests.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(24))
    state: Mapped[str] = mapped_column(sa.String(16), default="open")
    latitude: Mapped[float | None] = mapped_column(sa.Double)
    longitude: Mapped[float | None] = mapped_column(sa.Double)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    acknowledged_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    eta_minutes: Mapped[int | None] = mapped_column(sa.Integer)
    message: Mapped[str | None] = mapped_column(sa.String(500))
    resolved_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution: Mapped[str | None] = mapped_column(sa.String(500))
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
