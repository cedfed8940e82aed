"""Column types and helpers shared by every model."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from app.platform.extensions import db
from app.platform.schemas import MAX_ID


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC. The one clock of the application."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """Stores naive UTC (``DATETIME(6)`` on MySQL/MariaDB) and returns aware UTC datetimes."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def check_in(column: str, values: tuple[str, ...]) -> str:
    """SQL text of a check constraint limiting ``column`` to ``values`` (states as strings)."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class TimestampMixin:
    """``created_at`` and ``updated_at`` in UTC."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class JSONText(sa.types.TypeDecorator):
    """JSON kept in a TEXT column: identical on SQLite and MariaDB (no dialect JSON quirks)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return json.loads(value)


# Tables of the platform's own mechanisms ---------------------------------------------------

MESSAGE_CHANNELS = ("email", "webhook", "push")
MESSAGE_STATUSES = ("pending", "sent", "failed")


class IdempotencyKey(db.Model):
    """A stored response for an ``Idempotency-Key``, written in the same transaction as the work."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("user_id", "endpoint", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    endpoint: Mapped[str] = mapped_column(sa.String(64))
    key: Mapped[str] = mapped_column(sa.String(255))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    response_status: Mapped[int] = mapped_column(sa.Integer)
    response_body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


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
    # When the current attempt was claimed: a claim older than MAIL_CLAIM_LEASE was abandoned.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


OUTBOX_STATUSES = ("pending", "sent", "failed")


class OutboxMessage(db.Model):
    """A side effect a committed change promised: a Celery task (name and id arguments), written
    in the same transaction as the change and handed to the broker after the commit; retried by
    the ``relay-outbox`` job until the broker takes it (or given up, ``failed``, after
    ``OUTBOX_GIVE_UP_AFTER``)."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.CheckConstraint(check_in("status", OUTBOX_STATUSES), name="status"),
        sa.Index("ix_outbox_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task: Mapped[str] = mapped_column(sa.String(128))
    args: Mapped[list] = mapped_column(JSONText())
    options: Mapped[dict | None] = mapped_column(JSONText())
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(sa.String(255))


def get_owned_or_404(
    model: type,
    object_id: int,
    *,
    owner_id: int,
    error: Exception,
    lock: bool = False,
    where: tuple = (),
) -> Any:
    """The ``model`` row ``object_id`` whose ``user_id`` is ``owner_id``, else ``error`` raised:
    another user's row answers exactly like a missing one. ``lock`` takes its row lock."""
    if not 1 <= object_id <= MAX_ID:
        # Names no row; PostgreSQL would refuse the comparison with an INTEGER column outright.
        raise error
    stmt = sa.select(model).where(model.id == object_id, model.user_id == owner_id, *where)
    if lock:
        stmt = stmt.with_for_update()
    found = db.session.scalar(stmt)
    if found is None:
        raise error
    return found


def local_now() -> datetime:
    """Now in the configured ``TIMEZONE``."""
    return utcnow().astimezone(ZoneInfo(current_app.config.get("TIMEZONE") or "UTC"))


class JobRun(db.Model):
    """When each scheduled job last finished successfully (one row per job, for ``/metrics``)."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    last_success_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
