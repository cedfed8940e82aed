"""Scheduled reports: the monthly report e-mail to each opted-in person and the operator's daily
summary. Every message carries a dedupe key in the outbound ledger, so a job that runs twice
sends each message once."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from celery.schedules import crontab
from flask import current_app
from sqlalchemy import and_, exists, func, select

from app.accounts.models import User, wants
from app.bookings.models import Booking
from app.exports.models import Export
from app.parking.models import ParkingEvent, RetrievalScore
from app.payments.models import Payment
from app.platform import rollups
from app.platform.extensions import db
from app.platform.mail import MessageInFlight
from app.platform.models import OutboundMessage, local_now
from app.platform.queue import enqueue
from app.platform.scheduling import JobParam, in_foreground, job, progress
from app.platform.webhook import post_webhook
from app.reports.service import month_bounds, previous_month, report_key, send_monthly_report

log = logging.getLogger(__name__)
MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def parse_month(text: str) -> str:
    """``YYYY-MM`` (``2026-10``), or ValueError."""
    if not MONTH.fullmatch(text.strip()):
        raise ValueError(f"{text!r} is not a month as YYYY-MM (e.g. 2026-10)")
    return text.strip()


@job(
    "monthly-reports",
    schedule=crontab(minute="0", hour="9", day_of_month="1"),
    params=(JobParam("month", parse_month, "YYYY-MM; default: last month"),),
)
def monthly_reports(month: str | None = None) -> dict:
    """Queue last month's report e-mail (HTML with a PDF) for every opted-in user with activity
    (from ``flask jobs run``: send them now and count what failed)."""

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
    due = [
        user_id
        for user_id, preferences in rows
        if wants(preferences, "monthly_report") and report_key(user_id, month) not in sent_keys
    ]
    if in_foreground():
        return _send_now(due, month)
    for user_id in due:
        enqueue("mail.send_monthly_report", user_id, month)
    return {"month": month, "queued": len(due)}


def _send_now(user_ids: list[int], month: str) -> dict:
    """Send the reports in this process, for an operator who wants to see them go (or fail)."""
    sent = failed = 0
    with progress(user_ids, label=f"monthly reports {month}") as users:
        for user_id in users:
            try:
                sent += bool(send_monthly_report(user_id, month))
            except MessageInFlight:
                continue  # a worker is sending it right now
            except Exception:
                log.exception("monthly report %s for user %s failed", month, user_id)
                failed += 1
    return {"month": month, "sent": sent, "errors": failed}


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

    charged = count(
        select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
            Payment.created_at >= start, Payment.created_at < end
        )
    )
    # Revenue is what was paid in the period (like /admin/stats), not what was charged: from
    # the kept revenue slots when the period is made of whole slots (a month always is).
    connection = db.session.connection()
    if rollups.on_slots(start, end):
        revenue = rollups.revenue_between(connection, start, end)
    else:
        revenue = count(
            select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
                Payment.status == "paid", Payment.paid_at >= start, Payment.paid_at < end
            )
        )
    return {
        "bookings started": count(
            select(func.count(Booking.id)).where(
                Booking.started_at >= start, Booking.started_at < end
            )
        ),
        "bookings active now": rollups.kept(connection)["active_bookings"],
        "charged": f"{charged / 100:.2f} {currency}",
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
