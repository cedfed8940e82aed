"""Scheduled care-circle jobs: stalled retrievals, parking events about to expire, and
invitations past their expiry. Each job claims its alert in its own transaction (a unique
in-app entry for the person) and hands delivery to Celery after the commit, so running a job
twice alerts once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from celery.schedules import crontab
from flask import current_app
from sqlalchemy import select, update

from app.circle import alerts, delivery
from app.circle import service as circle
from app.circle.models import Alert
from app.notifications.models import Notification
from app.parking.models import ParkingEvent
from app.platform.extensions import db
from app.platform.models import utcnow
from app.platform.queue import enqueue
from app.platform.scheduling import job

# The alert each event notice opens for the care circle.
NOTICE_ALERTS = {
    "retrieval_stalled": "stalled",
    "parking_expiring": "event_expiring",
    "meter_expired": "meter_expiring",
}
# A meter that ran out longer ago than this is history, not a reminder.
METER_LATE_LIMIT = timedelta(hours=1)
STALLED_FACTOR = 3
EXPIRY_WARNING = timedelta(hours=6)
BATCH = 500
STALLED_LOOKBACK = timedelta(hours=24)


def _batches(stmt):
    """Yield the rows of ``stmt`` (parking events) in id order, a batch at a time."""
    last_id = 0
    while True:
        rows = db.session.scalars(
            stmt.where(ParkingEvent.id > last_id).order_by(ParkingEvent.id).limit(BATCH)
        ).all()
        if not rows:
            return
        yield rows
        last_id = rows[-1].id


def _unclaimed(kind: str, events: list[ParkingEvent]) -> list[ParkingEvent]:
    """Only events whose notice to the person (the claim) does not exist yet."""
    keys = {delivery.event_notice_key(kind, e.id, e.user_id): e for e in events}
    if not keys:
        return []
    taken = set(
        db.session.scalars(select(Notification.dedupe_key).where(Notification.dedupe_key.in_(keys)))
    )
    return [event for key, event in keys.items() if key not in taken]


def _notify_once(
    kind: str, stmt, due: Callable[[ParkingEvent], bool] | None = None
) -> dict[str, int]:
    """Claim and enqueue one ``kind`` notice for each event of ``stmt`` (that is ``due``)."""
    checked = alerted = 0
    for events in _batches(stmt):
        checked += len(events)
        candidates = events if due is None else [event for event in events if due(event)]
        for event in _unclaimed(kind, candidates):
            if delivery.claim_event_notice(kind, event):
                if kind in NOTICE_ALERTS and (kind != "meter_expired" or event.status == "active"):
                    alerts.raise_alert(
                        person_id=event.user_id, event_id=event.id, kind=NOTICE_ALERTS[kind]
                    )
                enqueue("circle.deliver_event_notice", kind, event.id)
                alerted += 1
    return {"checked": checked, "alerted": alerted}


def active_retrieval_seconds(event: ParkingEvent, now) -> float:
    """Seconds spent retrieving so far, excluding time paused (a pause in progress included)."""
    if event.retrieval_started_at is None:
        return 0.0
    until = event.retrieval_paused_at or now
    return max(0.0, (until - event.retrieval_started_at).total_seconds() - event.paused_seconds)


@job("stalled-retrievals", schedule=crontab(minute="*"))
def alert_stalled_retrievals() -> dict:
    """Alert the caregivers once when a retrieval runs longer than 3 times its expected time."""
    now = utcnow()
    stmt = select(ParkingEvent).where(
        ParkingEvent.status == "retrieving",
        ParkingEvent.expected_seconds > 0,
        # A walk abandoned long ago is not an emergency any more; it also bounds the scan.
        ParkingEvent.retrieval_started_at >= now - STALLED_LOOKBACK,
    )
    return _notify_once(
        "retrieval_stalled",
        stmt,
        due=lambda event: (
            active_retrieval_seconds(event, now) > STALLED_FACTOR * event.expected_seconds
        ),
    )


@job("expiring-parking-events", schedule=crontab(minute="*/15"))
def alert_expiring_parking_events() -> dict:
    """Warn the person and their caregivers once when a parking event expires within 6 hours."""
    now = utcnow()
    ttl = timedelta(hours=current_app.config["PARKING_EVENT_TTL_HOURS"])
    stmt = select(ParkingEvent).where(
        ParkingEvent.status == "active",
        ParkingEvent.parked_at <= now - ttl + EXPIRY_WARNING,
        ParkingEvent.parked_at > now - ttl,
    )
    return _notify_once("parking_expiring", stmt)


@job("meter-reminders", schedule=crontab(minute="*"))
def remind_meters() -> dict:
    """Remind the person METER_REMINDER_MINUTES before their meter runs out and again when it
    has, once each; their caregivers too while the car is still parked."""
    now = utcnow()
    lead = timedelta(minutes=current_app.config["METER_REMINDER_MINUTES"])
    parked = select(ParkingEvent).where(
        ParkingEvent.status.in_(("active", "retrieving")),
        ParkingEvent.meter_expires_at.is_not(None),
    )
    soon = _notify_once(
        "meter_expiring",
        parked.where(
            ParkingEvent.meter_expires_at > now, ParkingEvent.meter_expires_at <= now + lead
        ),
    )
    over = _notify_once(
        "meter_expired",
        parked.where(
            ParkingEvent.meter_expires_at <= now,
            ParkingEvent.meter_expires_at > now - METER_LATE_LIMIT,
        ),
    )
    return {"before": soon["alerted"], "expired": over["alerted"]}


@job("expire-invitations", schedule=crontab(minute="0"))
def expire_invitations() -> dict:
    """Mark pending care-circle invitations past their 7 days ``expired``."""
    return {"expired": circle.expire_invitations()}


@job("escalate-alerts", schedule=crontab(minute="*"))
def escalate_alerts() -> dict:
    """Send an SOS nobody acknowledged within ALERT_ESCALATE_MINUTES again, on every channel,
    once, and mark it escalated."""
    now = utcnow()
    cutoff = now - timedelta(minutes=current_app.config["ALERT_ESCALATE_MINUTES"])
    due = db.session.scalars(
        select(Alert.id)
        .where(
            Alert.state == "open",
            Alert.kind == "sos",
            Alert.escalated_at.is_(None),
            Alert.raised_at <= cutoff,
        )
        .order_by(Alert.id)
        .limit(BATCH)
    ).all()
    escalated = 0
    for alert_id in due:
        # Conditional: an acknowledgement committed meanwhile wins, and a second run finds none.
        claimed = db.session.execute(
            update(Alert)
            .where(Alert.id == alert_id, Alert.state == "open", Alert.escalated_at.is_(None))
            .values(escalated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed:
            enqueue("circle.deliver_alert_update", alert_id, "escalated")
            escalated += 1
    return {"escalated": escalated}
