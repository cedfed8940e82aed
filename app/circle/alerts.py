"""Caregiver alerts: raised inside a request, delivered by Celery once the request has committed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.parking.models import AssistRequest, ParkingEvent
from app.platform.extensions import db
from app.platform.models import utcnow
from app.platform.queue import enqueue

# Assist levels that reach the care circle: 4 "call me", 5 SOS "come to me".
CIRCLE_ASSIST_LEVELS = (4, 5)
# An alert is still open while its walk back has not ended (the event is parked or being
# retrieved) and it was raised this recently: a caregiver who joins meanwhile is told too.
OPEN_STATUSES = ("active", "retrieving")
OPEN_FOR = timedelta(hours=6)


def alert_assist(
    *,
    event_id: int,
    assist_id: int,
    level: int,
    latitude: float | None,
    longitude: float | None,
) -> None:
    """Alert the person's caregivers about an assist request of level 4 or 5, after the commit."""
    if level not in CIRCLE_ASSIST_LEVELS:
        return
    # The task reloads the assist request (and its position) by id; nothing else is passed.
    enqueue("circle.deliver_assist_alert", assist_id)


def alert_new_caregiver(*, person_id: int) -> int:
    """A caregiver joined the person's circle: send them the alerts still open, the latest of
    each walk back (the task skips caregivers it already reached). Returns how many."""
    latest = (
        select(func.max(AssistRequest.id))
        .join(ParkingEvent, ParkingEvent.id == AssistRequest.event_id)
        .where(
            ParkingEvent.user_id == person_id,
            ParkingEvent.status.in_(OPEN_STATUSES),
            AssistRequest.level.in_(CIRCLE_ASSIST_LEVELS),
            AssistRequest.created_at >= utcnow() - OPEN_FOR,
        )
        .group_by(AssistRequest.event_id)
    )
    open_alerts = db.session.scalars(latest).all()
    for assist_id in sorted(open_alerts):
        enqueue("circle.deliver_assist_alert", assist_id)
    return len(open_alerts)
