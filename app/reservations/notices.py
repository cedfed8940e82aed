"""What reservation reminders and notices say, delivered in-app, on devices and by e-mail.

Each notice has one dedupe key per reservation (or booking) and kind, so a task that runs twice
delivers once; times are written in the lot's time zone.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app

from app.accounts.models import User, wants
from app.bookings.models import Booking
from app.lots.models import Lot, Spot
from app.notifications import service as notifications
from app.platform.extensions import db
from app.reservations.allocation import grace
from app.reservations.models import Reservation

# kind -> (title, body); {when}, {lot}, {spot} are filled in.
RESERVATION_NOTICES = {
    "starts_soon": (
        "Your reservation starts soon",
        "Your reservation at {lot} starts at {when}{spot}. Check in when you arrive.",
    ),
    "no_show_soon": (
        "Check in soon to keep your spot",
        "You have not checked in at {lot}. Your reservation lapses at {when} if you do not.",
    ),
    "ends_soon": (
        "Your reserved time ends soon",
        "Your reserved time at {lot} ends at {when}. Extend it or leave by then.",
    ),
    "no_show": (
        "Your reservation lapsed",
        "You did not check in at {lot} in time; the spot reserved for {when} was released.",
    ),
    "spot_unavailable": (
        "Your reserved spot is not free",
        "An earlier car is still in the spot reserved for you at {lot} from {when}, and no "
        "other matching spot is free. We will give you one as soon as it frees up; check in on "
        "arrival or contact the operator.",
    ),
}
WALKIN_NOTICE = (
    "Your spot is reserved soon",
    "The spot you are in at {lot}{spot} is reserved by another driver from {when}. Please "
    "leave by then if you can.",
)


def _local(moment: datetime, lot: Lot) -> str:
    zone = ZoneInfo(lot.timezone or current_app.config["TIMEZONE"] or "UTC")
    return moment.astimezone(zone).strftime("%H:%M %Z (%d %b)")


def _spot_text(spot: Spot | None) -> str:
    if spot is None:
        return ""
    level = f", level {spot.level}" if spot.level is not None else ""
    return f" (spot {spot.number}{level})"


def _deliver(user: User, kind: str, title: str, body: str, data: dict, key: str) -> bool:
    return notifications.deliver(
        user=user,
        kind=kind,
        title=title,
        body=body,
        data=data,
        dedupe_key=key,
        email=wants(user.preferences, "email_reminders"),
    )


def deliver_reservation_notice(kind: str, reservation_id: int) -> bool:
    """Tell the driver about their reservation (``RESERVATION_NOTICES[kind]``), once."""
    reservation = db.session.get(Reservation, reservation_id)
    if reservation is None:
        return True
    user = db.session.get(User, reservation.user_id)
    lot = db.session.get(Lot, reservation.lot_id)
    spot = db.session.get(Spot, reservation.spot_id) if reservation.spot_id else None
    title, template = RESERVATION_NOTICES[kind]
    if kind == "no_show_soon":
        when = reservation.start_at + grace()
    elif kind == "ends_soon":
        when = reservation.end_at
    else:
        when = reservation.start_at
    body = template.format(lot=lot.name, when=_local(when, lot), spot=_spot_text(spot))
    data = {"reservation_id": reservation.id, "lot_id": lot.id}
    return _deliver(
        user, f"reservation_{kind}", title, body, data, f"reservation:{kind}:{reservation.id}"
    )


def deliver_walkin_notice(booking_id: int, reservation_id: int) -> bool:
    """Tell a walk-in driver that their spot is reserved by someone else soon, once."""
    booking = db.session.get(Booking, booking_id)
    reservation = db.session.get(Reservation, reservation_id)
    if booking is None or reservation is None or booking.status != "active":
        return True
    user = db.session.get(User, booking.user_id)
    lot = db.session.get(Lot, booking.lot_id)
    spot = db.session.get(Spot, booking.spot_id)
    title, template = WALKIN_NOTICE
    body = template.format(
        lot=lot.name, when=_local(reservation.start_at, lot), spot=_spot_text(spot)
    )
    data = {"booking_id": booking.id, "lot_id": lot.id}
    return _deliver(user, "booking_spot_reserved", title, body, data, f"walkin:{booking.id}")
