"""Live retrieval: the phone reports where it is while the person walks back to the car, and the
person (and their caregivers, through the circle) see the walk as it happens.

Positions come in batches with the phone's own ``recorded_at``, so a phone that was offline
catches up; they are kept in time order, once each (a batch sent twice adds nothing), and only
for the current walk: positions recorded before it started are ignored. They are deleted a day
after the walk ended (``purge-retrieval-positions``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, insert, select

from app.circle import alerts
from app.parking import geo
from app.parking.models import AssistRequest, ParkingEvent, RetrievalPosition
from app.parking.retrieval import active_seconds
from app.parking.service import get_own_event
from app.platform.errors import Conflict, NotFound
from app.platform.extensions import db
from app.platform.models import utcnow

# A phone's clock may run a little ahead of the server's.
CLOCK_SKEW = timedelta(minutes=2)
TRAIL_POINTS = 500
KEEP_AFTER_WALK = timedelta(hours=24)


class NotRetrieving(Conflict):
    code = "not_retrieving"
    message = "Positions are shared only while you are walking back to the car."


def no_active_retrieval() -> NotFound:
    return NotFound("Nobody is walking back to a car right now.", code="no_active_retrieval")


def record_positions(*, user_id: int, event_id: int, positions: list[dict]) -> dict[str, int]:
    """Store the batch's positions of the current walk (sorted, each once); the newest becomes
    the event's last known position."""
    event = get_own_event(user_id, event_id, lock=True)  # one batch at a time per event
    if event.status != "retrieving" or event.retrieval_started_at is None:
        raise NotRetrieving()
    started, latest_allowed = event.retrieval_started_at, utcnow() + CLOCK_SKEW
    wanted = sorted(
        (p for p in positions if started <= p["recorded_at"] <= latest_allowed),
        key=lambda p: p["recorded_at"],
    )
    unique = list({p["recorded_at"]: p for p in wanted}.values())
    known = set()
    if unique:
        known = set(
            db.session.scalars(
                select(RetrievalPosition.recorded_at).where(
                    RetrievalPosition.event_id == event.id,
                    RetrievalPosition.recorded_at.in_([p["recorded_at"] for p in unique]),
                )
            )
        )
    fresh = [p for p in unique if p["recorded_at"] not in known]
    if fresh:
        db.session.execute(
            insert(RetrievalPosition),
            [
                {
                    "event_id": event.id,
                    "latitude": p["latitude"],
                    "longitude": p["longitude"],
                    "accuracy_m": p.get("accuracy_m"),
                    "recorded_at": p["recorded_at"],
                    "received_at": utcnow(),
                }
                for p in fresh
            ],
        )
        newest = fresh[-1]
        if event.last_position_at is None or newest["recorded_at"] >= event.last_position_at:
            event.last_latitude, event.last_longitude = newest["latitude"], newest["longitude"]
            event.last_position_at = newest["recorded_at"]
        db.session.flush()
        if moving_away(event):
            alerts.alert_moving_away(person_id=event.user_id, event_id=event.id)
    return {"accepted": len(fresh), "ignored": len(positions) - len(fresh)}


# Moving away: over the last MOVING_AWAY_MINUTES the distance to the car grew by at least this,
# and no position in that time came back closer than the first by more than GPS jitter.
MOVING_AWAY_GROWTH_M = 100.0
GPS_JITTER_M = 25.0


def moving_away(event: ParkingEvent) -> bool:
    """True when the walk has been leading away from the car for MOVING_AWAY_MINUTES."""
    window = timedelta(minutes=current_app.config["MOVING_AWAY_MINUTES"])
    newest = event.last_position_at
    if newest is None:
        return False
    rows = db.session.execute(
        select(RetrievalPosition.latitude, RetrievalPosition.longitude)
        .where(
            RetrievalPosition.event_id == event.id,
            RetrievalPosition.recorded_at >= newest - window,
        )
        .order_by(RetrievalPosition.recorded_at)
    ).all()
    earliest = db.session.scalar(
        select(func.min(RetrievalPosition.recorded_at)).where(
            RetrievalPosition.event_id == event.id
        )
    )
    if len(rows) < 2 or earliest is None or newest - earliest < window:
        return False  # not walking long enough to tell
    distances = [geo.haversine_m(lat, lng, event.latitude, event.longitude) for lat, lng in rows]
    first = distances[0]
    return distances[-1] - first >= MOVING_AWAY_GROWTH_M and min(distances) >= first - GPS_JITTER_M


def own_walk(*, user_id: int, event_id: int) -> dict[str, Any]:
    """The person's own walk back, as it stands."""
    event = get_own_event(user_id, event_id)
    if event.status != "retrieving":
        raise no_active_retrieval()
    return walk_view(event)


def current_walk(person_id: int) -> dict[str, Any]:
    """The person's walk back in progress (their newest retrieving event), or 404."""
    event = db.session.scalar(
        select(ParkingEvent)
        .where(ParkingEvent.user_id == person_id, ParkingEvent.status == "retrieving")
        .order_by(ParkingEvent.retrieval_started_at.desc(), ParkingEvent.id.desc())
        .limit(1)
    )
    if event is None:
        raise no_active_retrieval()
    return walk_view(event)


def walk_view(event: ParkingEvent) -> dict[str, Any]:
    """Elapsed and expected time, distance to the car, the trail and the highest help level
    asked for (the care circle adds its alerts)."""
    trail = [
        {
            "latitude": row.latitude,
            "longitude": row.longitude,
            "accuracy_m": row.accuracy_m,
            "recorded_at": row.recorded_at,
        }
        for row in reversed(
            db.session.execute(
                select(
                    RetrievalPosition.latitude,
                    RetrievalPosition.longitude,
                    RetrievalPosition.accuracy_m,
                    RetrievalPosition.recorded_at,
                )
                .where(RetrievalPosition.event_id == event.id)
                .order_by(RetrievalPosition.recorded_at.desc())
                .limit(TRAIL_POINTS)
            ).all()
        )
    ]
    last = _last_position(event, trail)
    distance = None
    if last is not None:
        distance = round(
            geo.haversine_m(last["latitude"], last["longitude"], event.latitude, event.longitude),
            1,
        )
    highest = db.session.scalar(
        select(func.max(AssistRequest.level)).where(
            AssistRequest.event_id == event.id,
            AssistRequest.created_at >= event.retrieval_started_at,
        )
    )
    return {
        "event_id": event.id,
        "user_id": event.user_id,
        "started_at": event.retrieval_started_at,
        "paused": event.retrieval_paused_at is not None,
        "elapsed_seconds": round(active_seconds(event), 1),
        "expected_seconds": event.expected_seconds,
        "distance_to_car_m": distance,
        "car": {"latitude": event.latitude, "longitude": event.longitude},
        "last_position": last,
        "trail": trail,
        "max_assist_level": highest or 0,
    }


def _last_position(event: ParkingEvent, trail: list[dict]) -> dict | None:
    if trail:
        return trail[-1]
    recent = (
        event.last_latitude is not None
        and event.last_position_at is not None
        and event.last_position_at >= event.retrieval_started_at - CLOCK_SKEW
    )
    if not recent:
        return None
    return {
        "latitude": event.last_latitude,
        "longitude": event.last_longitude,
        "accuracy_m": None,
        "recorded_at": event.last_position_at,
    }


def purge_positions(now: datetime | None = None) -> int:
    """Delete the positions of walks that ended more than a day ago (or whose event did)."""
    cutoff = (now or utcnow()) - KEEP_AFTER_WALK
    ended = select(ParkingEvent.id).where(
        ParkingEvent.status.in_(("retrieved", "expired")),
        func.coalesce(
            ParkingEvent.retrieval_completed_at, ParkingEvent.expired_at, ParkingEvent.updated_at
        )
        < cutoff,
    )
    result = db.session.execute(
        delete(RetrievalPosition)
        .where(RetrievalPosition.event_id.in_(ended))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
