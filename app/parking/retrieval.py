"""Walking back to the car: the retrieval lifecycle, the assistance ladder and directions.

Statuses move ``active → retrieving → retrieved`` and ``active → expired`` (the expiry job);
every other move is a 409 ``invalid_transition`` that changes nothing. Messages are for people
who may find remembering hard: short, kind, plain, and never about a condition.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from app.circle import alerts
from app.circle.models import CircleMembership
from app.parking import geo
from app.parking.models import AssistRequest, ParkingEvent
from app.parking.scores import store_score, walking_pace
from app.parking.scoring import expected_seconds, score_retrieval
from app.parking.service import attach_photo_urls, get_own_event
from app.platform.errors import InvalidTransition, ValidationFailed
from app.platform.extensions import db
from app.platform.models import utcnow

ALLOWED_MOVES = {("active", "retrieving"), ("retrieving", "retrieved"), ("active", "expired")}
ASSIST_STATUSES = ("active", "retrieving")
# Without any position the walk is taken to be a short one back from a shop or a station exit.
UNKNOWN_DISTANCE_M = 300.0
TOP_LEVEL = 5
# A position sent with a recent request for help stands in for a start without one.
RECENT_POSITION = timedelta(minutes=10)

NEXT_STEP_HINTS = {
    1: "If you would like more help, the next step shows the things you noticed near your car.",
    2: "If you would like more help, the next step shows the way to your car.",
    3: "If you would like more help, the next step lets your helpers know you would like a call.",
    4: "If you need someone with you, the next step asks your helpers to come to you.",
}
STATUS_WORDS = {
    "active": "is saved and waiting for you",
    "retrieving": "is being found right now",
    "retrieved": "was already found",
    "expired": "has expired",
}


def _refuse(event: ParkingEvent, action: str) -> InvalidTransition:
    return InvalidTransition(
        f"You cannot {action} now: this parking place {STATUS_WORDS[event.status]}."
    )


def move(event: ParkingEvent, to: str, *, action: str) -> None:
    """Change status along an allowed edge, or raise 409 ``invalid_transition``."""
    if (event.status, to) not in ALLOWED_MOVES:
        raise _refuse(event, action)
    event.status = to


def _remember_position(event: ParkingEvent, latitude: float | None, longitude: float | None):
    if latitude is not None and longitude is not None:
        event.last_latitude, event.last_longitude = latitude, longitude
        event.last_position_at = utcnow()


def _expected(event: ParkingEvent, distance: float | None, pace: float) -> float:
    return expected_seconds(
        UNKNOWN_DISTANCE_M if distance is None else distance,
        pace,
        indoor=event.location_type == "indoor",
        level=event.level,
    )


def start_retrieval(
    *, user_id: int, event_id: int, latitude: float | None, longitude: float | None
) -> ParkingEvent:
    """Begin the walk back: ``retrieving``, with the expected time at the person's own pace."""
    event = get_own_event(user_id, event_id, lock=True)
    move(event, "retrieving", action="start looking for the car")
    recent = event.last_position_at is not None and (
        utcnow() - event.last_position_at <= RECENT_POSITION
    )
    if latitude is None and event.last_latitude is not None and recent:
        latitude, longitude = event.last_latitude, event.last_longitude
    distance = None
    if latitude is not None and longitude is not None:
        distance = geo.haversine_m(latitude, longitude, event.latitude, event.longitude)
        event.start_latitude, event.start_longitude = latitude, longitude
        _remember_position(event, latitude, longitude)
    pace = walking_pace(user_id)
    event.distance_m = distance
    event.pace_m_per_s = pace
    event.expected_seconds = _expected(event, distance, pace)
    event.retrieval_started_at = utcnow()
    event.retrieval_paused_at = None
    event.paused_seconds = 0.0
    db.session.flush()
    attach_photo_urls([event])
    return event


def pause_retrieval(*, user_id: int, event_id: int) -> ParkingEvent:
    """Stop the clock (a rest, a phone call); paused time never counts against the person."""
    event = get_own_event(user_id, event_id, lock=True)
    if event.status != "retrieving":
        raise _refuse(event, "pause")
    if event.retrieval_paused_at is not None:
        raise InvalidTransition("The walk back is already paused.")
    event.retrieval_paused_at = utcnow()
    db.session.flush()
    attach_photo_urls([event])
    return event


def _close_pause(event: ParkingEvent) -> None:
    if event.retrieval_paused_at is not None:
        paused = (utcnow() - event.retrieval_paused_at).total_seconds()
        event.paused_seconds = (event.paused_seconds or 0.0) + max(0.0, paused)
        event.retrieval_paused_at = None


def resume_retrieval(*, user_id: int, event_id: int) -> ParkingEvent:
    """Start the clock again after a pause."""
    event = get_own_event(user_id, event_id, lock=True)
    if event.status != "retrieving":
        raise _refuse(event, "resume")
    if event.retrieval_paused_at is None:
        raise InvalidTransition("The walk back is not paused.")
    _close_pause(event)
    db.session.flush()
    attach_photo_urls([event])
    return event


def active_seconds(event: ParkingEvent) -> float:
    """Seconds spent walking back so far, paused time left out."""
    if event.retrieval_started_at is None:
        return 0.0
    end = event.retrieval_paused_at or event.retrieval_completed_at or utcnow()
    elapsed = (end - event.retrieval_started_at).total_seconds()
    return max(0.0, elapsed - (event.paused_seconds or 0.0))


def complete_retrieval(
    *, user_id: int, event_id: int, found: bool, recall: list[dict[str, Any]]
) -> ParkingEvent:
    """End the walk back: ``retrieved``, and the server computes and stores the score."""
    event = get_own_event(user_id, event_id, lock=True)
    if event.status != "retrieving":
        raise _refuse(event, "finish looking for the car")
    known = {landmark.id for landmark in event.landmarks}
    given = {item["landmark_id"]: item["how"] for item in recall}
    strangers = sorted(set(given) - known)
    if strangers:
        raise ValidationFailed(
            fields={
                "recall": [
                    f"Landmark {i} does not belong to this parking event." for i in strangers
                ]
            }
        )
    answers = [
        {"landmark_id": landmark.id, "how": given.get(landmark.id, "missed")}
        for landmark in event.landmarks
    ]
    _close_pause(event)
    event.retrieval_completed_at = utcnow()
    move(event, "retrieved", action="finish looking for the car")
    event.found = found
    highest, count = db.session.execute(
        select(func.coalesce(func.max(AssistRequest.level), 0), func.count(AssistRequest.id)).where(
            AssistRequest.event_id == event.id
        )
    ).one()
    if not event.expected_seconds:
        # Only rows written outside the API lack it; score them against the default walk.
        event.expected_seconds = _expected(event, None, walking_pace(user_id))
    parts = score_retrieval(
        recall=[answer["how"] for answer in answers],
        expected_seconds=event.expected_seconds,
        actual_seconds=active_seconds(event),
        highest_assist_level=int(highest),
        assist_count=int(count),
        found=found,
    )
    store_score(event=event, parts=parts, found=found, recall=answers)
    alerts.resolve_event_alerts(
        event_id=event.id,
        resolved_by_id=user_id,
        resolution="found the car" if found else "stopped looking for the car",
    )
    attach_photo_urls([event])
    return event


# --- directions and the assistance ladder ---------------------------------------------------


def _walking_minutes(event: ParkingEvent, distance: float, pace: float) -> int:
    seconds = expected_seconds(
        distance, pace, indoor=event.location_type == "indoor", level=event.level
    )
    return max(1, math.ceil(seconds / 60))


def route_to_car(
    event: ParkingEvent, position: tuple[float, float] | None, *, pace: float | None = None
) -> dict[str, Any]:
    """Straight-line distance, bearing and walking time from ``position``, and map links."""
    answer: dict[str, Any] = {
        "event_id": event.id,
        "latitude": event.latitude,
        "longitude": event.longitude,
        "distance_m": None,
        "bearing_deg": None,
        "compass": None,
        "walking_minutes": None,
        "links": geo.walking_links(event.latitude, event.longitude),
    }
    if position is not None:
        lat, lng = position
        distance = geo.haversine_m(lat, lng, event.latitude, event.longitude)
        bearing = geo.initial_bearing_deg(lat, lng, event.latitude, event.longitude)
        answer.update(
            distance_m=round(distance, 1),
            bearing_deg=round(bearing, 1),
            compass=geo.compass_point(bearing),
            walking_minutes=_walking_minutes(
                event, distance, pace if pace is not None else walking_pace(event.user_id)
            ),
        )
    return answer


def directions(
    *, user_id: int, event_id: int, position: tuple[float, float] | None
) -> dict[str, Any]:
    """The way to one of the user's cars from where they are (links only without a position)."""
    return route_to_car(get_own_event(user_id, event_id), position)


COMPASS_WORDS = {
    "N": "north",
    "NE": "north-east",
    "E": "east",
    "SE": "south-east",
    "S": "south",
    "SW": "south-west",
    "W": "west",
    "NW": "north-west",
}


def _caregiver_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count(CircleMembership.id)).where(
            CircleMembership.person_id == user_id,
            CircleMembership.status == "accepted",
            CircleMembership.role == "caregiver",
        )
    )


def _reminder(event: ParkingEvent) -> tuple[dict[str, Any], str]:
    attach_photo_urls([event])
    reminder = {
        "notes": event.notes,
        "level": event.level,
        "spot_label": event.spot_label,
        "address": event.address,
        "location_type": event.location_type,
        "photo_url": event.photo_url,
        "parked_at": event.parked_at,
    }
    saved = [event.notes, event.level, event.spot_label, event.address, event.photo_url]
    if any(saved):
        return reminder, "Here is what you saved when you parked your car."
    return reminder, "You did not write anything down this time. That is all right."


def _landmarks(
    event: ParkingEvent, position: tuple[float, float] | None
) -> tuple[list[dict[str, Any]], str]:
    attach_photo_urls([event])
    items = []
    for landmark in event.landmarks:
        item = {
            "id": landmark.id,
            "event_id": landmark.event_id,
            "name": landmark.name,
            "description": landmark.description,
            "latitude": landmark.latitude,
            "longitude": landmark.longitude,
            "photo_upload_id": landmark.photo_upload_id,
            "photo_url": landmark.photo_url,
            "created_at": landmark.created_at,
            "updated_at": landmark.updated_at,
            "distance_m": None,
            "bearing_deg": None,
            "compass": None,
        }
        if position is not None and landmark.latitude is not None:
            lat, lng = position
            bearing = geo.initial_bearing_deg(lat, lng, landmark.latitude, landmark.longitude)
            item.update(
                distance_m=round(
                    geo.haversine_m(lat, lng, landmark.latitude, landmark.longitude), 1
                ),
                bearing_deg=round(bearing, 1),
                compass=geo.compass_point(bearing),
            )
        items.append(item)
    if not items:
        return (
            items,
            "You did not save any landmarks this time. The next step can show you the way.",
        )
    return items, "Here are the things you noticed near your car."


def _route_message(route: dict[str, Any]) -> str:
    if route["distance_m"] is None:
        return "Open the map and it will guide you to your car, one step at a time."
    direction = COMPASS_WORDS[route["compass"]]
    if route["distance_m"] < 15:
        return f"Your car is very close, just a few steps away towards the {direction}."
    metres = int(round(route["distance_m"], -1))
    minutes = route["walking_minutes"]
    walk = "a 1-minute walk" if minutes == 1 else f"a {minutes}-minute walk"
    return f"Your car is about {metres} metres away, towards the {direction}. That is about {walk}."


def _circle_message(level: int, caregivers: int) -> str:
    if caregivers == 0:
        return (
            "No helpers are set up yet, so we could not tell anyone. Please ask someone nearby "
            "for help, or call a person you trust. If you feel unsafe, call your local "
            "emergency number."
        )
    if level == TOP_LEVEL:
        return (
            "We have asked your helpers to come to you and told them where you are. "
            "Please stay where you are if it is safe. You are not alone."
        )
    return "We have let your helpers know that you would like a call. They will be in touch."


def request_assist(
    *,
    user_id: int,
    event_id: int,
    level: int,
    latitude: float | None = None,
    longitude: float | None = None,
) -> dict[str, Any]:
    """Give the help of one level of the ladder; every request is logged with time and place."""
    event = get_own_event(user_id, event_id, lock=True)
    if event.status not in ASSIST_STATUSES:
        raise _refuse(event, "ask for help with this car")
    position = (latitude, longitude) if latitude is not None and longitude is not None else None
    assist = AssistRequest(
        event_id=event.id, user_id=user_id, level=level, latitude=latitude, longitude=longitude
    )
    db.session.add(assist)
    _remember_position(event, latitude, longitude)
    db.session.flush()

    answer: dict[str, Any] = {
        "assist_id": assist.id,
        "event_id": event.id,
        "level": level,
        "next_level": level + 1 if level < TOP_LEVEL else None,
        "next_level_hint": NEXT_STEP_HINTS.get(level),
        "created_at": assist.created_at,
    }
    if level == 1:
        answer["reminder"], answer["message"] = _reminder(event)
    elif level == 2:
        answer["landmarks"], answer["message"] = _landmarks(event, position)
    elif level == 3:
        answer["directions"] = route_to_car(event, position)
        answer["message"] = _route_message(answer["directions"])
    else:
        answer["alert_id"] = alerts.alert_assist(
            person_id=user_id,
            event_id=event.id,
            assist_id=assist.id,
            level=level,
            latitude=latitude,
            longitude=longitude,
        )
        caregivers = _caregiver_count(user_id)
        answer["care_circle_alerted"] = caregivers > 0
        answer["urgent"] = level == TOP_LEVEL
        answer["message"] = _circle_message(level, caregivers)
    return answer
