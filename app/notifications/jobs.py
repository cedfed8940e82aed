"""Scheduled reminders, monthly reports and the operator summary.

Every message carries a dedupe key in the outbound ledger, so a job that runs twice (two beats,
a retry, ``flask jobs run``) sends each message once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from celery.schedules import crontab
from flask import current_app, render_template
from sqlalchemy import and_, exists, func, select

from app.accounts.models import DEFAULT_PREFERENCES, User
from app.bookings.models import Booking, Payment
from app.exports.models import Export
from app.lots.models import Lot
from app.parking.geo import walking_links
from app.parking.models import ParkingEvent, RetrievalScore
from app.platform.extensions import db
from app.platform.mail import send_email
from app.platform.models import OutboundMessage, utcnow
from app.platform.queue import enqueue
from app.platform.scheduling import job
from app.platform.webhook import post_webhook
from app.reports.service import month_bounds, previous_month, report_key

log = logging.getLogger(__name__)

INACTIVE_AFTER = timedelta(days=7)


def local_now() -> datetime:
    """Now in the configured ``TIMEZONE``."""
    return utcnow().astimezone(ZoneInfo(current_app.config.get("TIMEZONE") or "UTC"))


def wants(preferences: dict | None, name: str) -> bool:
    """A user's preference with the default filled in."""
    return bool({**DEFAULT_PREFERENCES, **(preferences or {})}.get(name, True))


def _send_reminders(
    rows: Iterable,
    *,
    template: str,
    subject: str,
    dedupe_key: Callable[[Any], str],
    context: Callable[[Any], dict],
) -> dict:
    """E-mail ``email/<template>`` to each row's user who wants reminders, once per dedupe key."""
    sent = skipped = 0
    for row in rows:
        if not wants(row.preferences, "email_reminders"):
            skipped += 1
            continue
        values = context(row)
        if send_email(
            dedupe_key=dedupe_key(row),
            to=row.email,
            subject=subject,
            text=render_template(f"email/{template}.txt", **values),
            html=render_template(f"email/{template}.html", **values),
        ):
            sent += 1
    return {"sent": sent, "opted_out": skipped}


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
        select(User.id, User.email, User.full_name, User.username, User.preferences, last.c.last_id)
        .join(last, last.c.user_id == User.id)
        .where(User.is_active.is_(True), last.c.last_started < cutoff, ~active_booking)
        .order_by(User.id)
    )
    return _send_reminders(
        db.session.execute(stmt).all(),
        template="booking_reminder",
        subject="Need a parking spot? ParkMind has you covered",
        # Keyed by the last booking: one reminder per quiet spell, not one every evening.
        dedupe_key=lambda row: f"booking-reminder:{row.id}:{row.last_id}",
        context=lambda row: {"name": row.full_name or row.username, "link": _app_link("/")},
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
        subject="Your car is still parked",
        dedupe_key=lambda row: f"parking-reminder:{row.id}",
        context=context,
    )


def car_location(
    lot_name: str | None, address: str | None, level: str | None, spot: str | None
) -> str:
    """ "your car is at <place>, level <l>, spot <s>" without the parts that are unknown."""
    parts = [lot_name or address or "the place you saved"]
    if level:
        parts.append(f"level {level}")
    if spot:
        parts.append(f"spot {spot}")
    return ", ".join(parts)


@job("monthly-reports", schedule=crontab(minute="0", hour="9", day_of_month="1"))
def monthly_reports(month: str | None = None) -> dict:
    """Queue last month's report e-mail (HTML with a PDF) for every opted-in user with activity."""

    month = month or previous_month(local_now().date())
    start, end = month_bounds(month, current_app.config.get("TIMEZONE") or "UTC")
    had_booking = exists().where(
        and_(Booking.user_id == User.id, Booking.started_at >= start, Booking.started_at < end)
    )
    had_retrieval = exists().where(
        and_(
            RetrievalScore.user_id == User.id,
            RetrievalScore.created_at >= start,
            RetrievalScore.created_at < end,
        )
    )
    rows = db.session.execute(
        select(User.id, User.preferences)
        .where(User.is_active.is_(True), had_booking | had_retrieval)
        .order_by(User.id)
    ).all()
    sent_keys = set(
        db.session.scalars(
            select(OutboundMessage.dedupe_key).where(
                OutboundMessage.dedupe_key.like(f"monthly-report:%:{month}"),
                OutboundMessage.status == "sent",
            )
        )
    )
    queued = 0
    for user_id, preferences in rows:
        if not wants(preferences, "monthly_report") or report_key(user_id, month) in sent_keys:
            continue
        enqueue("mail.send_monthly_report", user_id, month)
        queued += 1
    return {"month": month, "queued": queued}


@job("operator-summary", schedule=crontab(minute="0", hour="8"))
def operator_summary() -> dict:
    """Post yesterday's figures to NOTIFY_WEBHOOK_URL (chat JSON), once per day."""
    if not current_app.config.get("NOTIFY_WEBHOOK_URL"):
        return {"posted": False, "reason": "NOTIFY_WEBHOOK_URL unset"}
    today = local_now().date()
    day = today - timedelta(days=1)
    zone = ZoneInfo(current_app.config.get("TIMEZONE") or "UTC")
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    end = start + timedelta(days=1)
    figures = operator_figures(start, end)
    lines = [f"ParkMind daily summary for {day.isoformat()}"] + [
        f"- {label}: {value}" for label, value in figures.items()
    ]
    posted = post_webhook(
        dedupe_key=f"operator-summary:{day.isoformat()}",
        payload={"text": "\n".join(lines)},
    )
    return {"posted": posted, "day": day.isoformat(), **figures}


def operator_figures(start: datetime, end: datetime) -> dict[str, int | str]:
    """Headline figures for operators over [start, end)."""
    currency = current_app.config.get("CURRENCY", "USD")

    def count(stmt) -> int:
        return int(db.session.scalar(stmt) or 0)

    revenue = count(
        select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
            Payment.created_at >= start, Payment.created_at < end
        )
    )
    return {
        "bookings started": count(
            select(func.count(Booking.id)).where(
                Booking.started_at >= start, Booking.started_at < end
            )
        ),
        "bookings active now": count(
            select(func.count(Booking.id)).where(Booking.status == "active")
        ),
        "revenue": f"{revenue / 100:.2f} {currency}",
        "parking events saved": count(
            select(func.count(ParkingEvent.id)).where(
                ParkingEvent.created_at >= start, ParkingEvent.created_at < end
            )
        ),
        "new users": count(
            select(func.count(User.id)).where(User.created_at >= start, User.created_at < end)
        ),
        "failed exports": count(
            select(func.count(Export.id)).where(
                Export.status == "failed", Export.created_at >= start, Export.created_at < end
            )
        ),
        "failed messages": count(
            select(func.count(OutboundMessage.id)).where(OutboundMessage.status == "failed")
        ),
    }


def _app_link(path: str) -> str:
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return f"{base}{path}"
