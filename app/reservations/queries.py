"""Reservations as the API shows them: one statement for lists and details.

Status is shown as it is *now*: a confirmed reservation past its grace period is a no-show even
before the ``expire-reservations`` job writes it down (lazily on read).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, or_, select

from app.accounts.models import User
from app.bookings.models import Booking
from app.bookings.pricing import PriceRule
from app.lots.features import names_of
from app.lots.models import Lot, Spot
from app.platform.errors import NotFound
from app.platform.extensions import db
from app.platform.models import utcnow
from app.platform.pagination import paginate
from app.privacy import service as privacy
from app.reservations.allocation import grace
from app.reservations.models import Reservation


def reservation_not_found() -> NotFound:
    return NotFound("No such reservation.", code="reservation_not_found")


def cancellation_free_until(start_at: datetime) -> datetime:
    """Until when cancelling a reservation starting at ``start_at`` costs nothing."""
    return start_at - timedelta(hours=current_app.config["CANCELLATION_FREE_HOURS"])


def lapsed(reservation: Reservation, now: datetime) -> bool:
    """Confirmed, and not checked in within the grace period after its start: a no-show."""
    return reservation.status == "confirmed" and now >= reservation.start_at + grace()


def shown_status(reservation: Reservation, now: datetime) -> str:
    return "no_show" if lapsed(reservation, now) else reservation.status


def _rows(admin: bool = False) -> Select:
    columns = [Reservation, Lot.name, Spot.number, Spot.level, Booking.id]
    if admin:
        columns.append(User.username)
    stmt = (
        select(*columns)
        .join(Lot, Lot.id == Reservation.lot_id)
        .outerjoin(Spot, Spot.id == Reservation.spot_id)
        .outerjoin(Booking, Booking.reservation_id == Reservation.id)
    )
    if admin:
        stmt = stmt.join(User, User.id == Reservation.user_id)
    return stmt


def reservation_view(row: Any, now: datetime) -> dict[str, Any]:
    """A row of ``_rows`` as the API shows it."""
    reservation, lot_name, spot_number, spot_level, booking_id = row[:5]
    spot = None
    if reservation.spot_id is not None:
        spot = {"id": reservation.spot_id, "number": spot_number, "level": spot_level}
    view = {
        "id": reservation.id,
        "lot": {"id": reservation.lot_id, "name": lot_name},
        "spot": spot,
        "vehicle_number": reservation.vehicle_number,
        "status": shown_status(reservation, now),
        "start_at": reservation.start_at,
        "end_at": reservation.end_at,
        "features": names_of(reservation.feature_mask),
        "level": reservation.level,
        "price_rule": PriceRule.of(reservation).as_dict(),
        "amount_cents": reservation.amount_cents,
        "cost_cents": reservation.cost_cents,
        "cancellation_fee_cents": reservation.cancellation_fee_cents,
        "cancellation_free_until": cancellation_free_until(reservation.start_at),
        "currency": reservation.currency,
        "booking_id": booking_id,
        "checked_in_at": reservation.checked_in_at,
        "ended_at": reservation.ended_at,
        "cancelled_at": reservation.cancelled_at,
        "created_at": reservation.created_at,
    }
    if len(row) > 5:
        view["user_id"] = reservation.user_id
        view["username"] = row[5]
    return view


def _status_filter(status: str, now: datetime):
    """``status`` as shown: lapsed confirmed reservations count as no-shows."""
    cutoff = now - grace()
    if status == "confirmed":
        return and_(Reservation.status == "confirmed", Reservation.start_at > cutoff)
    if status == "no_show":
        return or_(
            Reservation.status == "no_show",
            and_(Reservation.status == "confirmed", Reservation.start_at <= cutoff),
        )
    return Reservation.status == status


def _filtered(stmt: Select, *, status, from_, to, now) -> Select:
    if status:
        stmt = stmt.where(_status_filter(status, now))
    if from_ is not None:
        stmt = stmt.where(Reservation.end_at > from_)
    if to is not None:
        stmt = stmt.where(Reservation.start_at < to)
    return stmt


def list_reservations(
    *,
    user_id: int,
    page: int,
    per_page: int,
    status: str | None = None,
    from_: datetime | None = None,
    to: datetime | None = None,
) -> dict:
    """The user's reservations, latest start first."""
    now = utcnow()
    stmt = _filtered(
        _rows().where(Reservation.user_id == user_id), status=status, from_=from_, to=to, now=now
    ).order_by(Reservation.start_at.desc(), Reservation.id.desc())
    result = paginate(stmt, page=page, per_page=per_page, scalars=False)
    result["items"] = [reservation_view(row, now) for row in result["items"]]
    return result


def admin_list_reservations(
    *,
    actor_id: int,
    page: int,
    per_page: int,
    lot_id: int | None = None,
    user_id: int | None = None,
    status: str | None = None,
    from_: datetime | None = None,
    to: datetime | None = None,
) -> dict:
    """Admin: reservations of every lot (or one), latest start first."""
    now = utcnow()
    stmt = _rows(admin=True)
    if lot_id is not None:
        stmt = stmt.where(Reservation.lot_id == lot_id)
    if user_id is not None:
        stmt = stmt.where(Reservation.user_id == user_id)
    stmt = _filtered(stmt, status=status, from_=from_, to=to, now=now).order_by(
        Reservation.start_at.desc(), Reservation.id.desc()
    )
    result = paginate(stmt, page=page, per_page=per_page, scalars=False)
    result["items"] = [reservation_view(row, now) for row in result["items"]]
    if user_id is not None and result["items"]:  # one person's reservations were shown
        privacy.record_access(
            person_id=user_id, actor_id=actor_id, actor_role="admin", resource="reservations"
        )
    return result


def get_reservation(*, user_id: int, reservation_id: int) -> dict[str, Any]:
    """One of the user's reservations (another user's is a 404)."""
    stmt = (
        _rows()
        .where(Reservation.id == reservation_id, Reservation.user_id == user_id)
        .execution_options(populate_existing=True)
    )
    found = db.session.execute(stmt).first()
    if found is None:
        raise reservation_not_found()
    return reservation_view(found, utcnow())
