"""What reservation reminders and notices say, delivered in-app, on devices and by e-mail.

Each notice has one dedupe key per reservation (or booking) and kind, so a task that runs twice
delivers once; times are written in the lot's time zone and every word in the driver's language.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from app.accounts.models import User, wants
from app.bookings.models import Booking
from app.lots.models import Lot, Spot
from app.notifications import service as notifications
from app.platform.extensions import db
from app.platform.i18n import N_, format_time, gettext, in_language, language_of
from app.reservations.allocation import grace
from app.reservations.models import Reservation

# kind -> (title, body); %(when)s, %(lot)s, %(spot)s are filled in, in the driver's language.
RESERVATION_NOTICES = {
    "starts_soon": (
        N_("Your reservation starts soon"),
        N_("Your reservation at %(lot)s starts at %(when)s%(spot)s. Check in when you arrive."),
    ),
    "no_show_soon": (
        N_("Check in soon to keep your spot"),
        N_(
            "You have not checked in at %(lot)s. Your reservation lapses at %(when)s if you do not."
        ),
    ),
    "ends_soon": (
        N_("Your reserved time ends soon"),
        N_("Your reserved time at %(lot)s ends at %(when)s. Extend it or leave by then."),
    ),
    "no_show": (
        N_("Your reservation lapsed"),
        N_("You did not check in at %(lot)s in time; the spot reserved for %(when)s was released."),
    ),
    "spot_unavailable": (
        N_("Your reserved spot is not free"),
        N_(
            "An earlier car is still in the spot reserved for you at %(lot)s from %(when)s, and "
            "no other matching spot is free. We will give you one as soon as it frees up; check "
            "in on arrival or contact the operator."
        ),
    ),
}
WALKIN_NOTICE = (
    N_("Your spot is reserved soon"),
    N_(
        "The spot you are in at %(lot)s%(spot)s is reserved by another driver from %(when)s. "
        "Please leave by then if you can."
    ),
)


def _local(moment: datetime, lot: Lot) -> str:
    zone = lot.timezone or current_app.config["TIMEZONE"] or "UTC"
    return format_time(moment, zone, with_day=True)


def _spot_text(spot: Spot | None) -> str:
    if spot is None:
        return ""
    if spot.level is None:
        return gettext(" (spot %(spot)s)", spot=spot.number)
    return gettext(" (spot %(spot)s, level %(level)s)", spot=spot.number, level=spot.level)


def _render(notice: tuple[str, str], **words: str) -> tuple[str, str]:
    """A notice's title and body in the current language."""
    title, body = notice
    return gettext(title), gettext(body, **words)


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
    if kind == "no_show_soon":
        when = reservation.start_at + grace()
    elif kind == "ends_soon":
        when = reservation.end_at
    else:
        when = reservation.start_at
    with in_language(language_of(user.preferences)):
        title, body = _render(
            RESERVATION_NOTICES[kind],
            lot=lot.name,
            when=_local(when, lot),
            spot=_spot_text(spot),
        )
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
    with in_language(language_of(user.preferences)):
        title, body = _render(
            WALKIN_NOTICE,
            lot=lot.name,
            when=_local(reservation.start_at, lot),
            spot=_spot_text(spot),
        )
    data = {"booking_id": booking.id, "lot_id": lot.id}
    return _deliver(user, "booking_spot_reserved", title, body, data, f"walkin:{booking.id}")
