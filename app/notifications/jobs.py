"""Scheduled reminders by e-mail: drivers who have not booked lately, cars parked for long.

Every message carries a dedupe key in the outbound ledger, so a job that runs twice (two beats,
a retry, ``flask jobs run``) sends each message once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from celery.schedules import crontab
from flask import current_app, render_template
from sqlalchemy import and_, exists, func, select

from app.accounts import service as accounts
from app.accounts.models import User, wants
from app.bookings.models import Booking
from app.lots.models import Lot
from app.notifications.models import Notification
from app.parking.geo import walking_links
from app.parking.models import ParkingEvent
from app.platform.extensions import db
from app.platform.i18n import N_, gettext, in_language, language_of
from app.platform.mail import MessageInFlight, send_email
from app.platform.models import utcnow
from app.platform.retention import delete_in_batches
from app.platform.scheduling import job
from app.platform.web import public_link

log = logging.getLogger(__name__)

INACTIVE_AFTER = timedelta(days=7)


def _send_reminders(
    rows: Iterable,
    *,
    template: str,
    subject: str,
    dedupe_key: Callable[[Any], str],
    context: Callable[[Any], dict],
) -> dict:
    """E-mail ``email/<template>`` to each row's user who wants reminders, once per dedupe key,
    in their language (``subject`` is a message id). A failed send is logged and counted, and
    the others still go; the next run retries it."""
    sent = skipped = failed = 0
    for row in rows:
        if not wants(row.preferences, "email_reminders"):
            skipped += 1
            continue
        with in_language(language_of(row.preferences)):
            values = context(row)
            title = gettext(subject)
            text = render_template(f"email/{template}.txt", **values)
            markup = render_template(f"email/{template}.html", **values)
        unsubscribe = accounts.unsubscribe_url(user_id=row.user_id, preference="email_reminders")
        try:
            delivered = send_email(
                dedupe_key=dedupe_key(row),
                to=row.email,
                subject=title,
                text=text,
                html=markup,
                unsubscribe_url=unsubscribe,
            )
        except MessageInFlight:
            # Another run is sending it now; a run after the claim's lease sends it if that
            # sender died.
            continue
        except Exception:
            log.exception("reminder %s failed; the next run retries it", dedupe_key(row))
            failed += 1
            continue
        if delivered:
            sent += 1
    return {"sent": sent, "opted_out": skipped, "errors": failed}


@job("booking-reminders", schedule=crontab(minute="0", hour="18"))
def booking_reminders() -> dict:
    """Remind drivers who have not booked for 7 days (once per quiet spell; opt-out honoured)."""
    cutoff = utcnow() - INACTIVE_AFTER
    last = (
        select(
            Booking.user_id,
            func.max(Booking.started_at).label("last_started"),
            func.max(Booking.id).label("last_id"),
        )
        .group_by(Booking.user_id)
        .subquery()
    )
    active_booking = exists().where(and_(Booking.user_id == User.id, Booking.status == "active"))
    stmt = (
        select(
            User.id.label("user_id"),
            User.email,
            User.full_name,
            User.username,
            User.preferences,
            last.c.last_id,
        )
        .join(last, last.c.user_id == User.id)
        .where(User.is_active.is_(True), last.c.last_started < cutoff, ~active_booking)
        .order_by(User.id)
    )
    return _send_reminders(
        db.session.execute(stmt).all(),
        template="booking_reminder",
        subject=N_("Need a parking spot? ParkMind has you covered"),
        # Keyed by the last booking: one reminder per quiet spell, not one every evening.
        dedupe_key=lambda row: f"booking-reminder:{row.user_id}:{row.last_id}",
        context=lambda row: {"name": row.full_name or row.username, "link": public_link("/")},
    )


@job("parking-event-reminders", schedule=crontab(minute="*/15"))
def parking_event_reminders() -> dict:
    """Remind people whose car has been parked longer than PARKING_EVENT_REMINDER_HOURS."""

    hours = int(current_app.config["PARKING_EVENT_REMINDER_HOURS"])
    cutoff = utcnow() - timedelta(hours=hours)
    stmt = (
        select(
            ParkingEvent.id,
            ParkingEvent.parked_at,
            ParkingEvent.latitude,
            ParkingEvent.longitude,
            ParkingEvent.address,
            ParkingEvent.level,
            ParkingEvent.spot_label,
            ParkingEvent.notes,
            Lot.name.label("lot_name"),
            User.id.label("user_id"),
            User.email,
            User.full_name,
            User.username,
            User.preferences,
        )
        .join(User, User.id == ParkingEvent.user_id)
        .outerjoin(Lot, Lot.id == ParkingEvent.lot_id)
        .where(
            ParkingEvent.status == "active",
            ParkingEvent.parked_at < cutoff,
            User.is_active.is_(True),
        )
        .order_by(ParkingEvent.id)
    )

    def context(row) -> dict:
        return {
            "name": row.full_name or row.username,
            "where": car_location(row.lot_name, row.address, row.level, row.spot_label),
            "notes": row.notes,
            "hours": hours,
            "parked_at": row.parked_at,
            "map_link": walking_links(row.latitude, row.longitude)["google"],
        }

    return _send_reminders(
        db.session.execute(stmt).all(),
        template="parking_reminder",
        subject=N_("Your car is still parked"),
        dedupe_key=lambda row: f"parking-reminder:{row.id}",
        context=context,
    )


def car_location(
    lot_name: str | None, address: str | None, level: str | None, spot: str | None
) -> str:
    """ "your car is at <place>, level <l>, spot <s>" without the parts that are unknown, in the
    current language."""
    parts = [lot_name or address or gettext("the place you saved")]
    if level:
        parts.append(gettext("level %(level)s", level=level))
    if spot:
        parts.append(gettext("spot %(spot)s", spot=spot))
    return ", ".join(parts)


@job("purge-notifications", schedule=crontab(minute="20", hour="3"))
def purge_notifications() -> dict:
    """Delete in-app notices older than NOTIFICATION_RETENTION_DAYS."""
    cutoff = utcnow() - timedelta(days=current_app.config["NOTIFICATION_RETENTION_DAYS"])
    return {"deleted": delete_in_batches(Notification, Notification.created_at < cutoff)}
