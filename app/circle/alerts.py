"""Caregiver alerts: raised inside a request or a job, delivered by Celery after the commit.

An alert is a row with a life (``open → acknowledged → resolved``): the person asked for a call
or for someone to come (assist levels 4 and 5), or a job saw a walk back stall. Ending the walk
resolves the alerts of that event and tells every caregiver who was alerted.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.circle.models import Alert
from app.parking.models import AssistRequest, ParkingEvent
from app.platform.extensions import db
from app.platform.models import utcnow
from app.platform.queue import enqueue

# Assist levels that reach the care circle: 4 "call me", 5 SOS "come to me".
CIRCLE_ASSIST_LEVELS = (4, 5)
ASSIST_KINDS = {4: "call_me", 5: "sos"}
LIVE_STATES = ("open", "acknowledged")
# An alert is still open while its walk back has not ended (the event is parked or being
# retrieved) and it was raised this recently: a caregiver who joins meanwhile is told too.
OPEN_STATUSES = ("active", "retrieving")
OPEN_FOR = timedelta(hours=6)


def alert_assist(
    *,
    person_id: int,
    event_id: int,
    assist_id: int,
    level: int,
    latitude: float | None,
    longitude: float | None,
) -> int | None:
    """Alert the person's caregivers about an assist request of level 4 or 5, after the commit.
    Returns the alert's id (the same alert while one of that kind is live for the event)."""
    if level not in CIRCLE_ASSIST_LEVELS:
        return None
    alert = raise_alert(
        person_id=person_id,
        event_id=event_id,
        kind=ASSIST_KINDS[level],
        assist_id=assist_id,
        latitude=latitude,
        longitude=longitude,
    )
    # The task reloads the assist request (and its position) by id; nothing else is passed.
    enqueue("circle.deliver_assist_alert", assist_id)
    return alert.id


def raise_alert(
    *,
    person_id: int,
    event_id: int | None,
    kind: str,
    assist_id: int | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> Alert:
    """The live alert of this kind for the event, or a new open one."""
    live = db.session.scalar(
        select(Alert)
        .where(Alert.event_id == event_id, Alert.kind == kind, Alert.state.in_(LIVE_STATES))
        .order_by(Alert.id.desc())
        .limit(1)
        .with_for_update()
    )
    if live is not None:
        if latitude is not None and longitude is not None:
            live.latitude, live.longitude = latitude, longitude
        live.assist_id = assist_id or live.assist_id
        db.session.flush()
        return live
    alert = Alert(
        person_id=person_id,
        event_id=event_id,
        kind=kind,
        assist_id=assist_id,
        latitude=latitude,
        longitude=longitude,
        state="open",
        raised_at=utcnow(),
    )
    db.session.add(alert)
    db.session.flush()
    return alert


def alert_moving_away(*, person_id: int, event_id: int) -> None:
    """The walk back has been leading away from the car: open the alert (once per walk) and tell
    the person and their caregivers after the commit."""
    known = db.session.scalar(
        select(Alert.id).where(Alert.event_id == event_id, Alert.kind == "moving_away")
    )
    if known is not None:
        return
    raise_alert(person_id=person_id, event_id=event_id, kind="moving_away")
    enqueue("circle.deliver_event_notice", "moving_away", event_id)


def resolve_event_alerts(*, event_id: int, resolved_by_id: int, resolution: str) -> int:
    """The walk back ended: resolve the event's live alerts and tell everyone alerted."""
    live = db.session.scalars(
        select(Alert)
        .where(Alert.event_id == event_id, Alert.state.in_(LIVE_STATES))
        .with_for_update()
    ).all()
    now = utcnow()
    for alert in live:
        alert.state, alert.resolved_at = "resolved", now
        alert.resolved_by_id, alert.resolution = resolved_by_id, resolution
        enqueue("circle.deliver_alert_update", alert.id, "resolved")
    db.session.flush()
    return len(live)


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
