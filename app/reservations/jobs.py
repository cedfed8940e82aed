"""Scheduled upkeep of reservations: no-shows, spots blocked by overstays, reminders.

Each job claims what it does in the rows it changes (a status, a stamp) and promises the
notices through the outbox in the same transaction, so a job run twice does nothing twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery.schedules import crontab
from flask import current_app
from sqlalchemy import and_, select

from app.bookings.models import Booking
from app.platform import cache
from app.platform.extensions import db
from app.platform.models import utcnow
from app.platform.queue import enqueue
from app.platform.scheduling import job
from app.reservations import allocation
from app.reservations import service as reservations
from app.reservations.models import Reservation

log = logging.getLogger(__name__)

BATCH = 500


def _minutes(name: str) -> timedelta:
    return timedelta(minutes=current_app.config[name])


def _locked(stmt) -> list[Reservation]:
    return list(db.session.scalars(stmt.order_by(Reservation.id).limit(BATCH).with_for_update()))


@job("expire-reservations", schedule=crontab(minute="*"))
def expire_reservations() -> dict:
    """Mark confirmed reservations not checked in within the grace period as no-shows."""
    now = utcnow()
    lapsed = _locked(
        select(Reservation).where(
            Reservation.status == "confirmed", Reservation.start_at <= now - allocation.grace()
        )
    )
    for reservation in lapsed:
        reservation.status = "no_show"
        enqueue("reservations.notify", "no_show", reservation.id)
    if lapsed:
        cache.invalidate(cache.ADMIN_STATS)
        log.info("%s reservations marked no-show", len(lapsed))
    return {"no_shows": len(lapsed)}


@job("rehome-reservations", schedule=crontab(minute="*"))
def rehome_reservations() -> dict:
    """Move reservations starting within the check-in lead off spots an earlier car still
    holds (or that went out of service); tell the driver when no matching spot is free."""
    now = utcnow()
    upcoming = _locked(
        select(Reservation).where(
            Reservation.status == "confirmed",
            allocation.holding(now),
            Reservation.start_at < now + allocation.lead(),
            Reservation.end_at > now,
        )
    )
    moved = stranded = 0
    for reservation in upcoming:
        before = reservation.spot_id
        if not reservations.rehome(reservation, now):
            stranded += 1
        elif reservation.spot_id != before:
            moved += 1
    return {"checked": len(upcoming), "moved": moved, "without_spot": stranded}


def _claim(stmt, stamp: str, kind: str) -> int:
    rows = _locked(stmt.where(getattr(Reservation, stamp).is_(None)))
    for reservation in rows:
        setattr(reservation, stamp, utcnow())
        enqueue("reservations.notify", kind, reservation.id)
    return len(rows)


@job("reservation-reminders", schedule=crontab(minute="*"))
def reservation_reminders() -> dict:
    """Remind drivers: a reservation starts soon, lapses soon, or its reserved end is near; and
    a walk-in whose spot is reserved by someone else soon."""
    now = utcnow()
    grace = allocation.grace()
    confirmed = and_(Reservation.status == "confirmed", Reservation.start_at > now - grace)
    starting = _claim(
        select(Reservation).where(
            confirmed,
            Reservation.start_at > now,
            Reservation.start_at <= now + _minutes("RESERVATION_REMINDER_MINUTES"),
        ),
        "start_reminded_at",
        "starts_soon",
    )
    lapsing = _claim(
        select(Reservation).where(
            confirmed,
            Reservation.start_at <= now - grace + _minutes("NO_SHOW_WARNING_MINUTES"),
        ),
        "no_show_warned_at",
        "no_show_soon",
    )
    ending = _claim(
        select(Reservation).where(
            Reservation.status == "checked_in",
            Reservation.end_at > now,
            Reservation.end_at <= now + _minutes("RESERVATION_END_REMINDER_MINUTES"),
        ),
        "end_reminded_at",
        "ends_soon",
    )
    return {
        "starts_soon": starting,
        "no_show_soon": lapsing,
        "ends_soon": ending,
        "walk_ins": _warn_walkins(now),
    }


def _warn_walkins(now) -> int:
    """Walk-ins (no reservation of their own) whose spot has a reservation starting soon."""
    window = now + _minutes("OVERSTAY_WARNING_MINUTES")
    rows = db.session.execute(
        select(Booking, Reservation.id)
        .join(Reservation, Reservation.spot_id == Booking.active_spot_id)
        .where(
            Booking.status == "active",
            Booking.reservation_id.is_(None),
            Booking.overstay_warned_at.is_(None),
            Reservation.status == "confirmed",
            Reservation.start_at > now,
            Reservation.start_at <= window,
        )
        .order_by(Booking.id, Reservation.start_at)
        .limit(BATCH)
        .with_for_update(of=Booking)
    ).all()
    warned = set()
    for booking, reservation_id in rows:
        if booking.id in warned:
            continue
        warned.add(booking.id)
        booking.overstay_warned_at = now
        enqueue("reservations.notify_walkin", booking.id, reservation_id)
    return len(warned)
