"""Administration: users, all bookings, the occupancy and revenue dashboard, recent activity."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select

from app.accounts import service as users
from app.accounts.models import User
from app.admin.models import AdminAudit
from app.bookings.models import Booking
from app.bookings.service import booking_view
from app.lots.models import Lot, Spot
from app.parking.models import ParkingEvent
from app.platform import cache
from app.platform.errors import Conflict, NotFound
from app.platform.extensions import db
from app.platform.pagination import newest_in_window, paginate
from app.privacy import service as privacy


def _user_view(user: User, booking_count: int, active_booking_id: int | None) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "full_name": user.full_name,
        "phone": user.phone,
        "vehicle_number": user.vehicle_number,
        "role": user.role,
        "is_active": user.is_active,
        "avatar_upload_id": user.avatar_upload_id,
        "created_at": user.created_at,
        "last_login_at": user.last_login_at,
        "booking_count": int(booking_count or 0),
        "active_booking_id": active_booking_id,
    }


def _users_stmt():
    counts = (
        select(Booking.user_id.label("user_id"), func.count(Booking.id).label("bookings"))
        .group_by(Booking.user_id)
        .subquery()
    )
    active = (
        select(Booking.active_user_id.label("user_id"), Booking.id.label("booking_id"))
        .where(Booking.active_user_id.is_not(None))
        .subquery()
    )
    return (
        select(User, func.coalesce(counts.c.bookings, 0), active.c.booking_id)
        .outerjoin(counts, counts.c.user_id == User.id)
        .outerjoin(active, active.c.user_id == User.id)
    )


def list_users(*, page: int, per_page: int, q: str | None = None) -> dict:
    """Admin: users (search by username, e-mail, name) with their booking counts."""
    stmt = _users_stmt()
    if q:
        # As the lots' search: case-insensitive and literal on every database.
        text = q.strip().lower()
        stmt = stmt.where(
            or_(
                func.lower(User.username).contains(text, autoescape=True),
                func.lower(User.email).contains(text, autoescape=True),
                func.lower(User.full_name).contains(text, autoescape=True),
            )
        )
    result = paginate(stmt.order_by(User.id), page=page, per_page=per_page, scalars=False)
    result["items"] = [_user_view(*row) for row in result["items"]]
    return result


def get_user(*, actor_id: int, user_id: int) -> dict[str, Any]:
    """Admin: one user with booking count and active booking (the read is in their log)."""
    view = _user_detail(user_id)
    privacy.record_access(
        person_id=user_id, actor_id=actor_id, actor_role="admin", resource="profile"
    )
    return view


def _user_detail(user_id: int) -> dict[str, Any]:
    row = db.session.execute(_users_stmt().where(User.id == user_id)).first()
    if row is None:
        raise NotFound("No such user.", code="user_not_found")
    return _user_view(*row)


def update_user(*, admin_id: int, user_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Admin: activate/deactivate (revokes sessions) or change a role; never one's own."""
    target = users.get_user(user_id)
    if target.id == admin_id and (
        changes.get("is_active") is False or changes.get("role", "admin") != "admin"
    ):
        raise Conflict("Admins cannot deactivate or demote themselves.", code="cannot_change_self")
    users.set_user_status(target, is_active=changes.get("is_active"), role=changes.get("role"))
    cache.invalidate(cache.ADMIN_STATS)
    return _user_detail(user_id)


def list_bookings(
    *,
    actor_id: int,
    page: int,
    per_page: int,
    lot_id: int | None = None,
    user_id: int | None = None,
    status: str | None = None,
) -> dict:
    """Admin: every booking, newest first, filtered by lot, user, status (one user's history
    is a read of that person's data, and is in their log)."""
    stmt = (
        select(Booking, Lot, Spot, User.username)
        .join(Lot, Lot.id == Booking.lot_id)
        .join(Spot, Spot.id == Booking.spot_id)
        .join(User, User.id == Booking.user_id)
    )
    if lot_id is not None:
        stmt = stmt.where(Booking.lot_id == lot_id)
    if user_id is not None:
        stmt = stmt.where(Booking.user_id == user_id)
    if status is not None:
        stmt = stmt.where(Booking.status == status)
    stmt = stmt.order_by(Booking.started_at.desc(), Booking.id.desc())
    result = paginate(stmt, page=page, per_page=per_page, scalars=False)
    items = []
    for booking, lot, spot, username in result["items"]:
        view = booking_view(booking, lot, spot)
        view["user"] = {"id": booking.user_id, "username": username}
        items.append(view)
    result["items"] = items
    if user_id is not None and items:  # one person's history was shown: it is in their log
        privacy.record_access(
            person_id=user_id, actor_id=actor_id, actor_role="admin", resource="bookings"
        )
    return result


def list_audit(
    *,
    page: int,
    per_page: int,
    actor_id: int | None = None,
    action: str | None = None,
    target_type: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> dict[str, Any]:
    """Admin: every admin action, newest first (by actor, action, target type, time)."""
    stmt = select(AdminAudit, User.username).join(User, User.id == AdminAudit.actor_id)
    if actor_id is not None:
        stmt = stmt.where(AdminAudit.actor_id == actor_id)
    if action is not None:
        stmt = stmt.where(AdminAudit.action == action)
    if target_type is not None:
        stmt = stmt.where(AdminAudit.target_type == target_type)
    stmt = newest_in_window(
        stmt, AdminAudit.created_at, AdminAudit.id, start=created_from, end=created_to
    )
    result = paginate(stmt, page=page, per_page=per_page, scalars=False)
    result["items"] = [
        {
            "id": entry.id,
            "actor": {"id": entry.actor_id, "username": username},
            "action": entry.action,
            "target_type": entry.target_type,
            "target_id": entry.target_id,
            "detail": entry.detail or {},
            "created_at": entry.created_at,
        }
        for entry, username in result["items"]
    ]
    return result


def activity(*, limit: int) -> dict[str, Any]:
    """Admin: the newest bookings, releases and registrations, merged newest first."""
    started = db.session.execute(
        select(Booking, Lot.name, User.username)
        .join(Lot, Lot.id == Booking.lot_id)
        .join(User, User.id == Booking.user_id)
        .order_by(Booking.started_at.desc(), Booking.id.desc())
        .limit(limit)
    ).all()
    released = db.session.execute(
        select(Booking, Lot.name, User.username)
        .join(Lot, Lot.id == Booking.lot_id)
        .join(User, User.id == Booking.user_id)
        .where(Booking.ended_at.is_not(None))
        .order_by(Booking.ended_at.desc(), Booking.id.desc())
        .limit(limit)
    ).all()
    registered = db.session.scalars(
        select(User).order_by(User.created_at.desc(), User.id.desc()).limit(limit)
    ).all()
    events: list[dict[str, Any]] = []
    for kind, rows, when in (
        ("booking_started", started, "started_at"),
        ("booking_released", released, "ended_at"),
    ):
        for booking, lot_name, username in rows:
            events.append(
                {
                    "type": kind,
                    "at": getattr(booking, when),
                    "user": {"id": booking.user_id, "username": username},
                    "booking_id": booking.id,
                    "lot": {"id": booking.lot_id, "name": lot_name},
                    "cost_cents": booking.cost_cents if kind == "booking_released" else None,
                }
            )
    for user in registered:
        events.append(
            {
                "type": "user_registered",
                "at": user.created_at,
                "user": {"id": user.id, "username": user.username},
                "booking_id": None,
            }
        )
    events.sort(key=lambda item: item["at"], reverse=True)
    return {"items": events[:limit]}


def headline_figures() -> dict[str, int]:
    """Users, live lots, active bookings and parking events (``flask stats``)."""
    return {
        "users": db.session.scalar(select(func.count(User.id))),
        "lots": db.session.scalar(select(func.count(Lot.id)).where(Lot.deleted_at.is_(None))),
        "active_bookings": db.session.scalar(
            select(func.count(Booking.id)).where(Booking.status == "active")
        ),
        "parking_events": db.session.scalar(select(func.count(ParkingEvent.id))),
    }
