"""Parking events as plain rows, for the API: one event in one statement (its page, the latest
open one), and pages of events in three (events, landmarks, scores). No ORM objects are built."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select

from app.parking.models import Landmark, ParkingEvent, RetrievalScore
from app.platform.extensions import db
from app.uploads.service import photo_urls

OPEN_STATUSES = ("active", "retrieving")


def event_rows(ids: Iterable[int]) -> list[dict[str, Any]]:
    """The events ``ids`` as plain dicts with their landmarks, score and signed photo links:
    three Core statements (events, landmarks, scores) and one for the photos, no ORM objects."""
    ids = list(ids)
    events = [
        dict(row)
        for row in db.session.execute(
            select(*ParkingEvent.__table__.c).where(ParkingEvent.id.in_(ids))
        ).mappings()
    ]
    by_id = {event["id"]: event for event in events}
    for event in events:
        event["landmarks"], event["score"] = [], None
    landmarks = Landmark.__table__
    for row in db.session.execute(
        select(*landmarks.c).where(landmarks.c.event_id.in_(ids)).order_by(landmarks.c.id)
    ).mappings():
        by_id[row["event_id"]]["landmarks"].append(dict(row))
    scores = RetrievalScore.__table__
    for row in db.session.execute(select(*scores.c).where(scores.c.event_id.in_(ids))).mappings():
        by_id[row["event_id"]]["score"] = dict(row)
    owners = [owner for event in events for owner in (event, *event["landmarks"])]
    urls = photo_urls(owner["photo_upload_id"] for owner in owners)
    for owner in owners:
        owner["photo_url"] = (
            urls.get(owner["photo_upload_id"]) if owner["photo_upload_id"] else None
        )
    return events


# The columns ParkingEventSchema and LandmarkSchema show (photo_url, landmarks and score apart).
EVENT_VIEW_COLUMNS = (
    "id",
    "user_id",
    "status",
    "latitude",
    "longitude",
    "accuracy_m",
    "address",
    "location_type",
    "level",
    "spot_label",
    "notes",
    "booking_id",
    "lot_id",
    "photo_upload_id",
    "client_uuid",
    "parked_at",
    "retrieval_started_at",
    "retrieval_paused_at",
    "paused_seconds",
    "retrieval_completed_at",
    "expired_at",
    "meter_expires_at",
    "distance_m",
    "expected_seconds",
    "found",
    "created_at",
    "updated_at",
)
LANDMARK_VIEW_COLUMNS = (
    "id",
    "event_id",
    "name",
    "description",
    "latitude",
    "longitude",
    "photo_upload_id",
    "created_at",
    "updated_at",
)


@cache
def event_view_statement(latest: bool) -> Any:
    """One event of ``:user_id`` in one statement: a row per landmark (oldest first, or one row
    without), each with the event's shown columns and its score's id (if scored).

    ``latest``: the newest open event; otherwise the event ``:event_id``."""
    events, scores, landmarks = (
        ParkingEvent.__table__,
        RetrievalScore.__table__,
        Landmark.__table__,
    )
    if latest:
        event_id = (
            select(events.c.id)
            .where(events.c.user_id == bindparam("user_id"), events.c.status.in_(OPEN_STATUSES))
            .order_by(events.c.parked_at.desc(), events.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
    else:
        event_id = bindparam("event_id")
    return (
        select(
            *[events.c[name] for name in EVENT_VIEW_COLUMNS],
            scores.c.id.label("score_id"),
            *[landmarks.c[name] for name in LANDMARK_VIEW_COLUMNS],
        )
        .outerjoin(scores, scores.c.event_id == events.c.id)
        .outerjoin(landmarks, landmarks.c.event_id == events.c.id)
        .where(events.c.id == event_id, events.c.user_id == bindparam("user_id"))
        .order_by(landmarks.c.id)
    )


EVENT_WIDTH = len(EVENT_VIEW_COLUMNS)


def read_event_view(stmt: Any, params: dict[str, int]) -> dict | None:
    """An event as ParkingEventSchema reads it: plain values, landmarks, score, signed photos."""
    rows = db.session.connection().execute(stmt, params).all()
    if not rows:
        return None
    first = rows[0]
    event = dict(zip(EVENT_VIEW_COLUMNS, first, strict=False))
    landmarks = [
        dict(zip(LANDMARK_VIEW_COLUMNS, row[EVENT_WIDTH + 1 :], strict=True))
        for row in rows
        if row[EVENT_WIDTH + 1] is not None
    ]
    event["landmarks"] = landmarks
    # Only a retrieved event has a score; the ORM row is loaded when there is one.
    score_id = first[EVENT_WIDTH]
    event["score"] = None if score_id is None else db.session.get(RetrievalScore, score_id)
    owners = [event, *landmarks]
    ids = [owner["photo_upload_id"] for owner in owners if owner["photo_upload_id"] is not None]
    urls: dict[int, str] = {}
    if ids:
        urls = photo_urls(ids)
    for owner in owners:
        upload_id = owner["photo_upload_id"]
        owner["photo_url"] = None if upload_id is None else urls.get(upload_id)
    return event


def latest_active_event_view(user_id: int) -> dict | None:
    """The newest open event as ParkingEventSchema reads it (plain values, photo URLs signed)."""
    return read_event_view(event_view_statement(True), {"user_id": user_id})
