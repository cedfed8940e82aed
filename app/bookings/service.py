"""Bookings: race-free allocation of the lowest free spot, release with a fixed price, history.

Allocation runs inside ``run_in_transaction`` (the route edge): the user's row is locked first,
so one user's requests (and their ``Idempotency-Key`` replays) are serialised; then the lowest
free spot is taken with ``SELECT ... FOR UPDATE SKIP LOCKED`` (MariaDB) or under SQLite's
``BEGIN IMMEDIATE`` write lock. The unique ``active_spot_id``/``active_user_id`` columns are the
database's last word: no spot and no user ever holds two active bookings.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from flask import current_app
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import wants
from app.bookings.models import Booking
from app.bookings.pricing import PriceRule, compute_cost_cents
from app.bookings.rows import booking_row_view, booking_rows
from app.bookings.statements import LOT_NAME, PREFERENCES, statements
from app.lots.features import mask_of
from app.lots.models import Lot, Spot
from app.lots.service import live_lot_for_booking
from app.parking.models import RetrievalScore
from app.payments import service as payments
from app.platform import cache, idempotency
from app.platform.dumper import RenderedJSON
from app.platform.errors import Conflict, InvalidTransition, NotFound
from app.platform.extensions import db
from app.platform.models import utcnow
from app.platform.pagination import history, history_page
from app.reservations import allocation
from app.reservations.models import Reservation

log = logging.getLogger(__name__)

BOOKING_ENDPOINT = "bookings.create"


class LotFull(Conflict):
    code = "lot_full"
    message = "This lot has no free spot right now."


class AlreadyParked(Conflict):
    code = "already_parked"
    message = "You already have an active booking; release it first."


class NoMatchingSpot(Conflict):
    code = "no_matching_spot"
    message = "No free spot has the features and level asked for."


class NoActiveBooking(NotFound):
    code = "no_active_booking"
    message = "You have no active booking."


def booking_not_found() -> NotFound:
    return NotFound("No such booking.", code="booking_not_found")


@dataclass(frozen=True)
class BookingOutcome:
    """The response of a booking request: fresh, or replayed from its Idempotency-Key. The body
    is rendered when an Idempotency-Key keeps it; otherwise it is the booking as a dict."""

    status: int
    body: Any
    booking_id: int
    replayed: bool = False


def _elapsed_seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


def booking_view(booking: Booking, lot: Lot, spot: Spot) -> dict[str, Any]:
    """A booking as the API shows it (active ones with the cost so far)."""
    cost_so_far = None
    if booking.status == "active":
        cost_so_far = compute_cost_cents(
            PriceRule.of(booking), _elapsed_seconds(booking.started_at, utcnow())
        )
    return {
        "id": booking.id,
        "lot": {"id": lot.id, "name": lot.name},
        "spot": {"id": spot.id, "number": spot.number, "level": spot.level},
        "vehicle_number": booking.vehicle_number,
        "status": booking.status,
        "started_at": booking.started_at,
        "ended_at": booking.ended_at,
        "duration_minutes": booking.duration_minutes,
        "hourly_rate_cents": booking.hourly_rate_cents,
        "billing_increment_minutes": booking.billing_increment_minutes,
        "free_minutes": booking.free_minutes,
        "daily_max_cents": booking.daily_max_cents,
        "cost_cents": booking.cost_cents,
        "cost_so_far_cents": cost_so_far,
        "currency": booking.currency,
        "remarks": booking.remarks,
    }


def create_booking(
    *,
    user_id: int,
    lot_id: int,
    vehicle_number: str,
    remarks: str | None = None,
    features: list[str] | None = None,
    level: int | None = None,
    idempotency_key: str | None = None,
    render: Callable[[dict], bytes],
) -> BookingOutcome:
    """Book the lowest-numbered free spot of a lot for the user (with the features and level
    asked for, else as the driver prefers when such a spot is free). ``render`` turns the
    booking into the response body, which an Idempotency-Key keeps for replays."""
    asked = {"features": sorted(features)} if features else {}
    if level is not None:
        asked["level"] = level
    body_hash = idempotency.request_hash(
        {"lot_id": lot_id, "vehicle_number": vehicle_number, "remarks": remarks, **asked}
    )
    # The user's row lock serialises this user's bookings: the already-parked check and the
    # Idempotency-Key lookup below see whatever a twin request committed before us.
    sql = statements()
    preferences = db.session.execute(sql.lock_user, {"user_id": user_id}).scalar()
    if idempotency_key is not None:
        stored = idempotency.find_response(
            user_id=user_id, endpoint=BOOKING_ENDPOINT, key=idempotency_key, body_hash=body_hash
        )
        if stored is not None:
            booking_id = current_app.json.loads(stored.body)["id"]
            body = RenderedJSON(stored.body.encode())
            return BookingOutcome(stored.status, body, booking_id, replayed=True)
    lot = live_lot_for_booking(lot_id)
    if db.session.execute(sql.active_of_user, {"user_id": user_id}).first():
        raise AlreadyParked()
    now = utcnow()
    spot = allocate_walkin_spot(
        lot_id=lot.id, features=features, level=level, preferences=preferences, now=now
    )
    values = {
        "user_id": user_id,
        "lot_id": lot.id,
        "spot_id": spot.id,
        "active_spot_id": spot.id,
        "active_user_id": user_id,
        "vehicle_number": vehicle_number.strip(),
        "remarks": remarks,
        "status": "active",
        "started_at": now,
        "hourly_rate_cents": lot.hourly_rate_cents,
        "billing_increment_minutes": lot.billing_increment_minutes,
        "free_minutes": lot.free_minutes,
        "daily_max_cents": lot.daily_max_cents,
        "currency": current_app.config["CURRENCY"],
        "created_at": now,
        "updated_at": now,
    }
    try:
        # A Core INSERT, no unit of work (the spot was marked occupied when it was taken).
        booking_id = db.session.execute(sql.insert_booking, values).inserted_primary_key[0]
    except IntegrityError as exc:
        # The locks above make this unreachable; the unique indexes are the safety net.
        if "active_user" in str(exc.orig):
            raise AlreadyParked() from exc
        raise Conflict("The spot was taken; please retry.", code="spot_taken") from exc
    cache.invalidate(cache.LOTS, cache.ADMIN_STATS)
    booking = SimpleNamespace(
        id=booking_id, ended_at=None, duration_minutes=None, cost_cents=None, **values
    )
    log.info("booking %s: user %s took spot %s of lot %s", booking_id, user_id, spot.id, lot.id)
    view = booking_view(booking, lot, spot)
    if idempotency_key is None:
        # Serialised by the caller after the commit (on SQLite, outside the write lock).
        return BookingOutcome(201, view, booking_id)
    body = render(view)
    idempotency.store_response(
        user_id=user_id,
        endpoint=BOOKING_ENDPOINT,
        key=idempotency_key,
        body_hash=body_hash,
        status=201,
        body=body.decode(),
    )
    return BookingOutcome(201, body, booking_id)


def open_reserved_booking(*, reservation: Reservation, spot: Spot, now: datetime) -> Booking:
    """The active booking of a reservation's check-in, on ``spot`` (locked by the caller),
    with the reservation's frozen rule. Raises ``AlreadyParked`` if the driver has a car in."""
    if db.session.scalar(select(Booking.id).where(Booking.active_user_id == reservation.user_id)):
        raise AlreadyParked()
    spot.is_occupied = True
    booking = Booking(
        user_id=reservation.user_id,
        lot_id=reservation.lot_id,
        spot_id=spot.id,
        active_spot_id=spot.id,
        active_user_id=reservation.user_id,
        reservation_id=reservation.id,
        vehicle_number=reservation.vehicle_number,
        status="active",
        started_at=now,
        hourly_rate_cents=reservation.hourly_rate_cents,
        billing_increment_minutes=reservation.billing_increment_minutes,
        free_minutes=reservation.free_minutes,
        daily_max_cents=reservation.daily_max_cents,
        currency=reservation.currency,
    )
    db.session.add(booking)
    db.session.flush()
    cache.invalidate(cache.LOTS, cache.ADMIN_STATS)
    log.info(
        "booking %s: reservation %s checked in to spot %s", booking.id, reservation.id, spot.id
    )
    return booking


def allocate_walkin_spot(
    *,
    lot_id: int,
    features: list[str] | None,
    level: int | None,
    preferences: dict | None,
    now: datetime,
) -> Spot:
    """The spot a walk-in gets (locked and marked occupied): what was asked for (409
    ``no_matching_spot``), else the driver's preferred level and features when such a spot is
    free, else any."""
    if features or level is not None:
        spot = allocation.take_walkin_spot(
            lot_id=lot_id, wanted=allocation.Wanted(mask_of(features), level), now=now
        )
        if spot is None:
            if allocation.walkin_spot_exists(lot_id=lot_id, now=now):
                raise NoMatchingSpot()
            raise LotFull()
        return spot
    preferred = allocation.preferred(preferences)
    spot = None
    if preferred is not None:
        spot = allocation.take_walkin_spot(lot_id=lot_id, wanted=preferred, now=now)
    if spot is None:
        spot = allocation.take_walkin_spot(lot_id=lot_id, wanted=allocation.Wanted(), now=now)
    if spot is None:
        raise LotFull()
    return spot


def release_booking(*, user_id: int, booking_id: int) -> dict[str, Any]:
    """End an active booking: fix duration and cost, free the spot, record one payment. The
    booking (with its lot's name and the driver's preferences) and its spot are locked, read
    and written with Core statements."""
    sql = statements()
    row = (
        db.session.execute(sql.lock_booking, {"booking_id": booking_id, "user_id": user_id})
        .mappings()
        .first()
    )
    if row is None:
        raise booking_not_found()
    fields = dict(row)
    lot = SimpleNamespace(id=fields["lot_id"], name=fields.pop(LOT_NAME))
    preferences = fields.pop(PREFERENCES)
    booking = SimpleNamespace(**fields)
    if booking.status != "active":
        raise InvalidTransition(
            f"This booking is {booking.status}; only active ones can be released."
        )
    spot = db.session.execute(sql.lock_spot, {"spot_id": booking.spot_id}).first()
    ended = utcnow()
    seconds = _elapsed_seconds(booking.started_at, ended)
    cost = compute_cost_cents(PriceRule.of(booking), seconds)
    if booking.reservation_id is not None:
        # A reservation's stay is billed from its start, at least until its reserved end.
        reservation = db.session.scalar(
            select(Reservation).where(Reservation.id == booking.reservation_id).with_for_update()
        )
        billed = _elapsed_seconds(reservation.start_at, max(ended, reservation.end_at))
        cost = compute_cost_cents(PriceRule.of(booking), billed)
        reservation.status = "completed"
        reservation.ended_at = ended
        reservation.cost_cents = cost
    changes = {
        "status": "completed",
        "ended_at": ended,
        "duration_minutes": math.ceil(seconds / 60),
        "cost_cents": cost,
        "active_spot_id": None,
        "active_user_id": None,
        "updated_at": ended,
    }
    db.session.execute(sql.free_spot, {"spot_id_": spot.id})
    db.session.execute(sql.end_booking, {"booking_id_": booking.id, **changes})
    vars(booking).update(changes)
    payments.record_payment(
        user_id=booking.user_id,
        lot_id=booking.lot_id,
        amount_cents=booking.cost_cents,
        currency=booking.currency,
        booking_id=booking.id,
        reservation_id=booking.reservation_id,
        receipt_by_email=wants(preferences, "email_receipts"),
    )
    cache.invalidate(cache.LOTS, cache.ADMIN_STATS)
    log.info(
        "booking %s released: %s min, %s cents",
        booking.id,
        booking.duration_minutes,
        booking.cost_cents,
    )
    return booking_view(booking, lot, spot)


def list_bookings(
    *,
    user_id: int,
    page: int,
    per_page: int,
    status: str | None = None,
    cursor: tuple[datetime, int] | None = None,
) -> dict:
    """The user's bookings, newest first: the page's ids from ``ix_bookings_user_started``
    (or ``ix_bookings_user_status_started``), then their rows; any depth with a cursor."""
    bookings = Booking.__table__
    filters = {"user_id": user_id, **({"status": status} if status else {})}
    statements = history(booking_rows(), bookings.c.id, bookings.c.started_at, tuple(filters))
    result = history_page(statements, filters, page=page, per_page=per_page, cursor=cursor)
    result["items"] = [booking_row_view(row) for row in result["items"]]
    return result


def get_booking(*, user_id: int, booking_id: int) -> dict[str, Any]:
    """One of the user's bookings (another user's is a 404)."""
    bookings = Booking.__table__
    row = db.session.execute(
        booking_rows().where(bookings.c.id == booking_id, bookings.c.user_id == user_id)
    ).first()
    if row is None:
        raise booking_not_found()
    return booking_row_view(row)


def active_booking(*, user_id: int) -> dict[str, Any] | None:
    """The user's active booking, or None."""
    row = db.session.execute(
        booking_rows().where(Booking.__table__.c.active_user_id == user_id)
    ).first()
    return booking_row_view(row) if row else None


def get_active_booking(*, user_id: int) -> dict[str, Any]:
    """The user's active booking, or 404 ``no_active_booking``."""
    view = active_booking(user_id=user_id)
    if view is None:
        raise NoActiveBooking()
    return view


def my_stats(*, user_id: int) -> dict[str, Any]:
    """The driver's dashboard: bookings, spend, active booking, retrievals, latest score."""
    counts = db.session.execute(
        select(
            func.count(Booking.id),
            func.coalesce(func.sum(func.coalesce(Booking.cost_cents, 0)), 0),
            func.coalesce(func.sum(case((Booking.status == "completed", 1), else_=0)), 0),
        ).where(Booking.user_id == user_id)
    ).one()
    retrievals = db.session.scalar(
        select(func.count(RetrievalScore.id)).where(RetrievalScore.user_id == user_id)
    )
    latest = db.session.scalar(
        select(RetrievalScore)
        .where(RetrievalScore.user_id == user_id)
        .order_by(RetrievalScore.created_at.desc(), RetrievalScore.id.desc())
        .limit(1)
    )
    return {
        "bookings": counts[0],
        "completed_bookings": int(counts[2]),
        "total_spend_cents": int(counts[1]),
        "currency": current_app.config["CURRENCY"],
        "active_booking": active_booking(user_id=user_id),
        "retrievals": retrievals or 0,
        "latest_score": (
            {
                "total": float(latest.total),
                "score_version": latest.score_version,
                "created_at": latest.created_at,
            }
            if latest
            else None
        ),
    }
