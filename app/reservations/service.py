"""Reservations: quote, reserve, check in, extend, cancel, release; and keeping promises when
an earlier car overstays (the reservation moves to another matching spot, or its driver is told).

Every write locks the reservation's row, then spot rows in ascending number (see
``allocation``); a reservation's check-in is an active booking, so the unique active-spot index
that guards walk-ins guards checked-in reservations too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.accounts.models import User
from app.bookings import service as bookings
from app.bookings.models import Booking
from app.bookings.pricing import PriceRule, price_breakdown
from app.lots.features import mask_of
from app.lots.models import Lot, Spot
from app.lots.service import get_live_lot
from app.payments import service as payments
from app.platform import cache, idempotency
from app.platform.dumper import RenderedJSON
from app.platform.errors import Conflict, InvalidTransition, ValidationFailed
from app.platform.extensions import db
from app.platform.models import get_owned_or_404, utcnow
from app.platform.queue import enqueue
from app.reservations import allocation
from app.reservations.allocation import Wanted
from app.reservations.models import Reservation
from app.reservations.queries import (
    cancellation_free_until,
    get_reservation,
    lapsed,
    reservation_not_found,
)

log = logging.getLogger(__name__)

RESERVATION_ENDPOINT = "reservations.create"
# A start this far in the past is still "now" (clocks of phones drift).
CLOCK_SKEW = timedelta(minutes=2)


class NoSpotForInterval(Conflict):
    code = "lot_full"
    message = "No spot of this lot is free for that time."


class ReservationOverlap(Conflict):
    code = "reservation_overlap"
    message = "You already have a reservation for part of that time."


class ExtensionUnavailable(Conflict):
    code = "extension_unavailable"
    message = "The spot is not free for the longer time."


class ReservedSpotUnavailable(Conflict):
    code = "reserved_spot_unavailable"
    message = "No spot can be given for this reservation right now."


class CheckInNotOpen(Conflict):
    code = "check_in_not_open"
    message = "Check-in has not opened yet."


@dataclass(frozen=True)
class ReservationOutcome:
    status: int
    body: bytes
    reservation_id: int


def _price(rule: PriceRule, start: datetime, end: datetime):
    return price_breakdown(rule, (end - start).total_seconds())


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={field: [message]})


def _check_end(end: datetime, now: datetime) -> None:
    """422 unless ``end`` is within ``RESERVATION_MAX_DAYS_AHEAD`` days."""
    days = current_app.config["RESERVATION_MAX_DAYS_AHEAD"]
    if end > now + timedelta(days=days):
        raise _invalid("end_at", f"Reservations end at most {days} days ahead.")


def _check_interval(lot: Lot, start: datetime, end: datetime, now: datetime) -> None:
    """422 unless ``[start, end)`` starts now or later, within the horizon, long enough."""
    if start < now - CLOCK_SKEW:
        raise _invalid("start_at", "The start must not be in the past.")
    _check_end(end, now)
    if end - start < timedelta(minutes=lot.billing_increment_minutes):
        raise _invalid(
            "end_at", f"A reservation lasts at least {lot.billing_increment_minutes} minutes."
        )


def _wishes(
    features: list[str] | None, level: int | None, preferences: dict | None
) -> list[Wanted]:
    """What to try, in order: what was asked for; else the driver's preference, then any."""
    if features or level is not None:
        return [Wanted(mask_of(features), level)]
    preferred = allocation.preferred(preferences)
    return [preferred, Wanted()] if preferred is not None else [Wanted()]


def quote(
    *,
    lot_id: int,
    start_at: datetime,
    end_at: datetime,
    features: list[str] | None = None,
    level: int | None = None,
) -> dict[str, Any]:
    """The price of ``[start_at, end_at)`` under the lot's rule, and whether a spot is free."""
    now = utcnow()
    lot = get_live_lot(lot_id)
    _check_interval(lot, start_at, end_at, now)
    wanted = Wanted(mask_of(features), level)
    spot = allocation.spot_for_interval(
        lot_id=lot.id, wanted=wanted, start=start_at, end=end_at, now=now, lock=False
    )
    breakdown = _price(PriceRule.of(lot), start_at, end_at)
    return {
        "lot": {"id": lot.id, "name": lot.name},
        "start_at": start_at,
        "end_at": end_at,
        "available": spot is not None,
        "amount_cents": breakdown.total_cents,
        "currency": current_app.config["CURRENCY"],
        "price_rule": PriceRule.of(lot).as_dict(),
        "breakdown": breakdown.as_dict(),
        "cancellation_free_until": cancellation_free_until(start_at),
        "cancellation_fee_cents": lot.cancellation_fee_cents,
    }


def create_reservation(
    *,
    user_id: int,
    lot_id: int,
    start_at: datetime,
    end_at: datetime,
    vehicle_number: str,
    features: list[str] | None = None,
    level: int | None = None,
    idempotency_key: str | None = None,
    render: Callable[[dict], bytes],
) -> ReservationOutcome:
    """Reserve the lowest-numbered spot free for ``[start_at, end_at)`` with the features and
    level asked for (else as the driver prefers, else any); the lot's rule and fee are frozen."""
    asked = {"features": sorted(features)} if features else {}
    if level is not None:
        asked["level"] = level
    body_hash = idempotency.request_hash(
        {
            "lot_id": lot_id,
            "start_at": start_at.isoformat(),
            "end_at": end_at.isoformat(),
            "vehicle_number": vehicle_number,
            **asked,
        }
    )
    # The user's row lock serialises this user's reservations (overlap check, key replay).
    preferences = db.session.execute(
        select(User.preferences).where(User.id == user_id).with_for_update()
    ).scalar()
    if idempotency_key is not None:
        stored = idempotency.find_response(
            user_id=user_id, endpoint=RESERVATION_ENDPOINT, key=idempotency_key, body_hash=body_hash
        )
        if stored is not None:
            reservation_id = current_app.json.loads(stored.body)["id"]
            return ReservationOutcome(
                stored.status, RenderedJSON(stored.body.encode()), reservation_id
            )
    now = utcnow()
    lot = get_live_lot(lot_id, share=True)
    _check_interval(lot, start_at, end_at, now)
    mine = db.session.scalar(
        select(Reservation.id)
        .where(
            Reservation.user_id == user_id,
            allocation.holding(now),
            Reservation.start_at < end_at,
            Reservation.end_at > start_at,
        )
        .limit(1)
    )
    if mine is not None:
        raise ReservationOverlap()
    spot = None
    wishes = _wishes(features, level, preferences)
    for wanted in wishes:
        spot = allocation.spot_for_interval(
            lot_id=lot.id, wanted=wanted, start=start_at, end=end_at, now=now
        )
        if spot is not None:
            break
    if spot is None:
        if (features or level is not None) and allocation.spot_for_interval(
            lot_id=lot.id, wanted=Wanted(), start=start_at, end=end_at, now=now, lock=False
        ):
            raise bookings.NoMatchingSpot()
        raise NoSpotForInterval()
    reservation = Reservation(
        user_id=user_id,
        lot_id=lot.id,
        spot_id=spot.id,
        vehicle_number=vehicle_number.strip(),
        status="confirmed",
        start_at=start_at,
        end_at=end_at,
        feature_mask=mask_of(features),
        level=level,
        **PriceRule.of(lot).as_dict(),
        amount_cents=_price(PriceRule.of(lot), start_at, end_at).total_cents,
        cancellation_fee_cents=lot.cancellation_fee_cents,
        currency=current_app.config["CURRENCY"],
    )
    db.session.add(reservation)
    db.session.flush()
    cache.invalidate(cache.ADMIN_STATS)  # upcoming reservations per lot
    body = render(get_reservation(user_id=user_id, reservation_id=reservation.id))
    if idempotency_key is not None:
        idempotency.store_response(
            user_id=user_id,
            endpoint=RESERVATION_ENDPOINT,
            key=idempotency_key,
            body_hash=body_hash,
            status=201,
            body=body.decode(),
        )
    log.info("reservation %s: user %s, spot %s of lot %s", reservation.id, user_id, spot.id, lot.id)
    return ReservationOutcome(201, body, reservation.id)


def _own(user_id: int, reservation_id: int) -> Reservation:
    return get_owned_or_404(
        Reservation, reservation_id, owner_id=user_id, lock=True, error=reservation_not_found()
    )


def _require(reservation: Reservation, now: datetime, *statuses: str) -> None:
    status = "no_show" if lapsed(reservation, now) else reservation.status
    if status not in statuses:
        raise InvalidTransition(f"This reservation is {status}.")


def _wanted(reservation: Reservation) -> Wanted:
    return Wanted(reservation.feature_mask, reservation.level)


def check_in(*, user_id: int, reservation_id: int) -> dict[str, Any]:
    """Arrive: the reservation becomes an active booking on its spot, or on another matching
    spot when an earlier car is still there; 409 ``reserved_spot_unavailable`` when none is."""
    reservation = _own(user_id, reservation_id)
    now = utcnow()
    _require(reservation, now, "confirmed")
    opens = reservation.start_at - timedelta(
        minutes=current_app.config["RESERVATION_EARLY_MINUTES"]
    )
    if now < opens:
        raise CheckInNotOpen(f"Check-in opens at {opens.isoformat()}.")
    if now >= reservation.end_at:
        raise InvalidTransition("This reservation has ended.")
    get_live_lot(reservation.lot_id, share=True)
    spot = allocation.spot_for_rest(reservation, now, arriving=True)
    if spot is None:
        raise ReservedSpotUnavailable(_unavailable_reason(reservation))
    reservation.spot_id = spot.id
    bookings.open_reserved_booking(reservation=reservation, spot=spot, now=now)
    reservation.status = "checked_in"
    reservation.checked_in_at = now
    db.session.flush()
    return get_reservation(user_id=user_id, reservation_id=reservation.id)


def _unavailable_reason(reservation: Reservation) -> str:
    spot = db.session.get(Spot, reservation.spot_id) if reservation.spot_id else None
    wanted = " with the features you asked for" if reservation.feature_mask else ""
    if spot is not None and spot.is_occupied:
        return (
            f"Spot {spot.number} is still taken by an earlier car, and no other spot{wanted} "
            "is free. Please wait or contact the operator."
        )
    if spot is not None and spot.status != "available":
        return f"Spot {spot.number} is out of service and no other spot{wanted} is free."
    return f"No spot{wanted} of this lot is free right now. Please wait or contact the operator."


def extend(*, user_id: int, reservation_id: int, end_at: datetime) -> dict[str, Any]:
    """Move the end later while the spot stays free (409 ``extension_unavailable``)."""
    reservation = _own(user_id, reservation_id)
    now = utcnow()
    _require(reservation, now, "confirmed", "checked_in")
    if end_at <= reservation.end_at:
        raise _invalid("end_at", "The new end must be later than the current end.")
    _check_end(end_at, now)
    if reservation.spot_id is None:
        raise ExtensionUnavailable("This reservation has no spot yet; it cannot be extended.")
    db.session.scalar(select(Spot.id).where(Spot.id == reservation.spot_id).with_for_update())
    clash = db.session.scalar(
        select(Reservation.id)
        .where(
            Reservation.spot_id == reservation.spot_id,
            Reservation.id != reservation.id,
            allocation.holding(now),
            Reservation.start_at < end_at,
            Reservation.end_at > reservation.end_at,
        )
        .limit(1)
    )
    if clash is not None:
        raise ExtensionUnavailable()
    reservation.end_at = end_at
    reservation.amount_cents = _price(
        PriceRule.of(reservation), reservation.start_at, end_at
    ).total_cents
    reservation.end_reminded_at = None
    db.session.flush()
    return get_reservation(user_id=user_id, reservation_id=reservation.id)


def cancel(*, user_id: int, reservation_id: int) -> dict[str, Any]:
    """Cancel: free until ``cancellation_free_until``, then the fee frozen from the lot."""
    reservation = _own(user_id, reservation_id)
    now = utcnow()
    _require(reservation, now, "confirmed")
    fee = 0 if now <= cancellation_free_until(reservation.start_at) else None
    if fee is None:
        fee = reservation.cancellation_fee_cents
    reservation.status = "cancelled"
    reservation.cancelled_at = now
    reservation.cancellation_fee_cents = fee
    if fee > 0:
        payments.record_payment(
            user_id=user_id,
            lot_id=reservation.lot_id,
            amount_cents=fee,
            currency=reservation.currency,
            kind="cancellation_fee",
            reservation_id=reservation.id,
        )
    db.session.flush()
    cache.invalidate(cache.ADMIN_STATS)
    log.info("reservation %s cancelled (fee %s)", reservation.id, fee)
    return get_reservation(user_id=user_id, reservation_id=reservation.id)


def release(*, user_id: int, reservation_id: int) -> dict[str, Any]:
    """Leave: ends the checked-in stay, bills it from the start (at least to the reserved end)
    and records the payment."""
    reservation = _own(user_id, reservation_id)
    _require(reservation, utcnow(), "checked_in")
    booking_id = db.session.scalar(
        select(Booking.id).where(Booking.reservation_id == reservation.id)
    )
    bookings.release_booking(user_id=user_id, booking_id=booking_id)
    return get_reservation(user_id=user_id, reservation_id=reservation.id)


def rehome(reservation: Reservation, now: datetime) -> bool:
    """Make sure a confirmed reservation (locked) has a spot that can serve it; move it to
    another matching spot, or take the spot away and tell the driver (once). True if served."""
    spot = allocation.spot_for_rest(reservation, now, arriving=False)
    if spot is not None:
        if spot.id != reservation.spot_id:
            log.info("reservation %s moved to spot %s", reservation.id, spot.id)
            reservation.spot_id = spot.id
        return True
    reservation.spot_id = None
    if reservation.spot_lost_notified_at is None:
        reservation.spot_lost_notified_at = now
        enqueue("reservations.notify", "spot_unavailable", reservation.id)
    log.warning("reservation %s has no spot: none matching is free", reservation.id)
    return False


def rehome_reservations_of_spot(*, spot_id: int) -> int:
    """After a spot changed (out of service, features, level): move the confirmed reservations
    it can no longer serve. Returns how many had to move or lost their spot."""
    now = utcnow()
    moved = 0
    for reservation in db.session.scalars(
        select(Reservation)
        .where(
            Reservation.spot_id == spot_id,
            Reservation.status == "confirmed",
            allocation.holding(now),
            Reservation.end_at > now,
        )
        .order_by(Reservation.start_at)
        .with_for_update()
    ):
        if not rehome(reservation, now) or reservation.spot_id != spot_id:
            moved += 1
    return moved


def upcoming_on(*, lot_id: int, spot_ids: list[int] | None = None) -> bool:
    """Whether reservations still to be honoured hold spots of the lot (or of ``spot_ids``)."""
    now = utcnow()
    stmt = select(Reservation.id).where(
        Reservation.lot_id == lot_id, allocation.holding(now), Reservation.end_at > now
    )
    if spot_ids is not None:
        stmt = stmt.where(Reservation.spot_id.in_(spot_ids))
    return db.session.scalar(stmt.limit(1)) is not None
