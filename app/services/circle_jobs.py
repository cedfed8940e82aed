"""Scheduled care-circle jobs: stalled retrievals, parking events about to expire, and
invitations past their expiry. Each job claims its alert in its own transaction (a unique
in-app entry for the person) and hands delivery to Celery after the commit, so running a job
twice alerts once."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.jobs import job
from app.models import Notification, ParkingEvent, utcnow
from app.services import circle
from app.services.dispatch import enqueue

STALLED_FACTOR = 3
EXPIRY_WARNING = timedelta(hours=6)
BATCH = 500


def _unclaimed(stmt, kind: str):
    """Only events whose notice to the person (the claim) does not exist yet."""
    key = (
        sa.literal(f"{kind}:", sa.String)
        + sa.cast(ParkingEvent.id, sa.String)
        + sa.literal(":", sa.String)
        + sa.cast(ParkingEvent.user_id, sa.String)
    )
    return stmt.outerjoin(Notification, Notification.dedupe_key == key).where(
        Notification.id.is_(None)
    )


def active_retrieval_seconds(event: ParkingEvent, now) -> float:
    """Seconds spent retrieving so far, excluding time paused (a pause in progress included)."""
    if event.retrieval_started_at is None:
        return 0.0
    until = event.retrieval_paused_at or now
    return max(0.0, (until - event.retrieval_started_at).total_seconds() - event.paused_seconds)


@job("stalled-retrievals", schedule="every minute")
def alert_stalled_retrievals() -> dict:
    """Alert the caregivers once when a retrieval runs longer than 3 times its expected time."""
    from tasks.circle import deliver_event_notice

    now = utcnow()
    candidates = db.session.scalars(
        _unclaimed(select(ParkingEvent), "retrieval_stalled")
        .where(
            ParkingEvent.status == "retrieving",
            ParkingEvent.expected_seconds.is_not(None),
            ParkingEvent.expected_seconds > 0,
        )
        .order_by(ParkingEvent.id)
        .limit(BATCH)
    ).all()
    alerted = 0
    for event in candidates:
        limit = STALLED_FACTOR * event.expected_seconds
        if active_retrieval_seconds(event, now) <= limit:
            continue
        if circle.claim_event_notice("retrieval_stalled", event):
            enqueue(deliver_event_notice, "retrieval_stalled", event.id)
            alerted += 1
    return {"checked": len(candidates), "alerted": alerted}


@job("expiring-parking-events", schedule="every 15 minutes")
def alert_expiring_parking_events() -> dict:
    """Warn the person and their caregivers once when a parking event expires within 6 hours."""
    from tasks.circle import deliver_event_notice

    now = utcnow()
    ttl = timedelta(hours=current_app.config["PARKING_EVENT_TTL_HOURS"])
    events = db.session.scalars(
        _unclaimed(select(ParkingEvent), "parking_expiring")
        .where(
            ParkingEvent.status == "active",
            ParkingEvent.parked_at <= now - ttl + EXPIRY_WARNING,
            ParkingEvent.parked_at > now - ttl,
        )
        .order_by(ParkingEvent.id)
        .limit(BATCH)
    ).all()
    alerted = 0
    for event in events:
        if circle.claim_event_notice("parking_expiring", event):
            enqueue(deliver_event_notice, "parking_expiring", event.id)
            alerted += 1
    return {"checked": len(events), "alerted": alerted}


@job("expire-invitations", schedule="every hour")
def expire_invitations() -> dict:
    """Mark pending care-circle invitations past their 7 days ``expired``."""
    return {"expired": circle.expire_invitations()}
