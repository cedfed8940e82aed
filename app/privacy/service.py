"""The person's own data: the record of who read it, its export and the erasure of the account.

Who looked: :func:`record_access` is called by every read path through which someone other than
the person (a caregiver, a viewer, an admin) sees the person's data, in the same transaction as
the read; the person reads the log with ``GET /me/access-log``. Export and erasure walk the
per-domain parts of :mod:`app.platform.personal_data`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.accounts.models import User
from app.accounts.passwords import verify_password
from app.admin import audit
from app.bookings.models import Booking
from app.exports import service as exports
from app.exports.models import Export
from app.platform import cache
from app.platform.errors import Conflict, NotFound, ValidationFailed
from app.platform.extensions import db
from app.platform.models import utcnow
from app.platform.pagination import newest_in_window, paginate
from app.platform.personal_data import Erased, discover_parts
from app.platform.queue import enqueue
from app.privacy.models import CONFIRM_PHRASE, AccessLogEntry

log = logging.getLogger(__name__)

# Objects deleted per task message: a person with many photos is several messages.
STORAGE_BATCH = 200


class AccountInUse(Conflict):
    code = "account_in_use"
    message = "Release your active booking before closing the account."


# --- who looked --------------------------------------------------------------------------------


def record_access(
    *,
    person_id: int,
    actor_id: int,
    actor_role: str,
    resource: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record that ``actor`` read ``resource`` of ``person`` (nothing when they are the same)."""
    if person_id == actor_id:
        return
    db.session.add(
        AccessLogEntry(
            person_id=person_id,
            actor_id=actor_id,
            actor_role=actor_role,
            resource=resource,
            detail=detail or None,
            created_at=utcnow(),
        )
    )


def list_access_log(
    *,
    user_id: int,
    page: int,
    per_page: int,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> dict[str, Any]:
    """Who read the person's data, newest first."""
    stmt = (
        select(AccessLogEntry, User.username, User.full_name, User.erased_at)
        .join(User, User.id == AccessLogEntry.actor_id)
        .where(AccessLogEntry.person_id == user_id)
    )
    stmt = newest_in_window(
        stmt, AccessLogEntry.created_at, AccessLogEntry.id, start=created_from, end=created_to
    )
    result = paginate(stmt, page=page, per_page=per_page, scalars=False)
    result["items"] = [
        {
            "id": entry.id,
            "actor": {
                "id": entry.actor_id,
                "username": None if erased_at else username,
                "full_name": None if erased_at else full_name,
                "role": entry.actor_role,
            },
            "resource": entry.resource,
            "detail": entry.detail or {},
            "created_at": entry.created_at,
        }
        for entry, username, full_name, erased_at in result["items"]
    ]
    return result


# --- export ------------------------------------------------------------------------------------


def request_data_export(*, user_id: int, email: bool = True) -> Export:
    """Start building the ZIP of everything held about the person (one export at a time)."""
    return exports.request_export(user_id=user_id, kind="personal_data", email=email)


# --- erasure -----------------------------------------------------------------------------------


def erase_own_account(*, user_id: int, password: str, confirm: str) -> dict[str, int]:
    """The person closes their account: checked by password and the confirmation phrase."""
    user = _live_user(user_id)
    if confirm != CONFIRM_PHRASE:
        raise ValidationFailed(fields={"confirm": [f"Type exactly: {CONFIRM_PHRASE}"]})
    if not verify_password(user.password_hash, password):
        raise ValidationFailed(
            "The password is wrong.", fields={"password": ["The password is wrong."]}
        )
    return _erase(user_id)


def erase_user(*, actor_id: int, user_id: int) -> dict[str, int]:
    """Admin: erase an account on the person's request (audited; not one's own)."""
    if actor_id == user_id:
        raise Conflict("Close your own account with DELETE /me.", code="cannot_erase_self")
    _live_user(user_id)
    counts = _erase(user_id)
    audit.record(
        actor_id=actor_id, action="user.erase", target_type="user", target_id=user_id, detail=counts
    )
    return counts


def _live_user(user_id: int) -> User:
    user = db.session.scalar(
        select(User).where(User.id == user_id, User.erased_at.is_(None)).with_for_update()
    )
    if user is None:
        raise NotFound("User not found.", code="user_not_found")
    return user


def _erase(user_id: int) -> dict[str, int]:
    """Run every domain's eraser in order in this transaction; storage objects are deleted
    through the outbox after the commit (retried until storage answers)."""
    active = db.session.scalar(select(Booking.id).where(Booking.active_user_id == user_id))
    if active is not None:
        raise AccountInUse()
    _, erasers = discover_parts()
    done = Erased()
    for step in erasers:
        result = step.erase(user_id)
        done.counts.update(result.counts)
        done.storage_keys += result.storage_keys
    for start in range(0, len(done.storage_keys), STORAGE_BATCH):
        enqueue("tasks.uploads.delete_objects", done.storage_keys[start : start + STORAGE_BATCH])
    cache.invalidate(cache.ADMIN_STATS)
    log.info("user %s erased: %s", user_id, done.counts)
    return done.counts
