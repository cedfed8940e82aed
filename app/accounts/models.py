"""Users and their login sessions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.platform.extensions import db
from app.platform.models import JSONText, TimestampMixin, UTCDateTime, check_in, utcnow

ROLES = ("user", "admin")
DEFAULT_PREFERENCES = {
    "language": "en",
    "text_size": "normal",
    "high_contrast": False,
    "email_reminders": True,
    "monthly_report": True,
    # A receipt by e-mail when a payment is recorded: opt in.
    "email_receipts": False,
}


class User(TimestampMixin, db.Model):
    """A driver, a person using parking memory, a caregiver, or an admin."""

    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint(check_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    email: Mapped[str] = mapped_column(sa.String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    full_name: Mapped[str | None] = mapped_column(sa.String(120))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    vehicle_number: Mapped[str | None] = mapped_column(sa.String(32))
    role: Mapped[str] = mapped_column(sa.String(16), default="user", server_default="user")
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    preferences: Mapped[dict | None] = mapped_column(JSONText())
    # No foreign key: uploads reference users, and a cycle would complicate migrations.
    avatar_upload_id: Mapped[int | None] = mapped_column(sa.Integer)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when the account was erased: the row stays only as the anonymous holder of financial
    # records kept for the legal retention period (no name, no e-mail, no way to sign in).
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def settings(self) -> dict:
        """Preferences with defaults filled in."""
        return {**DEFAULT_PREFERENCES, **(self.preferences or {})}

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username}>"


class AuthSession(db.Model):
    """One login: the family of refresh tokens it rotates through, and its access tokens.

    Every token carries the session id (``sid``); revoking the session revokes them all, durably.
    """

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    refresh_jti: Mapped[str] = mapped_column(sa.String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(32))
    user_agent: Mapped[str | None] = mapped_column(sa.String(255))
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))


def wants(preferences: dict | None, name: str) -> bool:
    """A user's preference with the default filled in."""
    return bool({**DEFAULT_PREFERENCES, **(preferences or {})}.get(name, True))
