"""Parking events and their landmarks: saving where the car is, correcting it, forgetting it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.bookings.models import Booking
from app.circle import alerts
from app.lots.models import Spot
from app.parking.models import MAX_LANDMARKS, Landmark, ParkingEvent
from app.parking.rows import (
    OPEN_STATUSES,
    event_rows,
    event_view_statement,
    latest_active_event_view,
    read_event_view,
)
from app.platform.errors import Conflict, NotFound, ValidationFailed
from app.platform.extensions import db
from app.platform.models import utcnow
from app.platform.pagination import history, history_page
from app.uploads.service import discard_uploads, photo_url, photo_urls, ready_upload

EVENT_PHOTO = ("parking_event_photo",)
LANDMARK_PHOTO = ("landmark_photo",)
# Phones' clocks drift; a save stamped a little ahead of the server is still honest.
CLOCK_SKEW = timedelta(minutes=5)
# An offline save may arrive late, but not from another year.
OLDEST_PARKED_AT = timedelta(days=366)
EVENT_FIELDS = (
    "latitude",
    "longitude",
    "accuracy_m",
    "address",
    "location_type",
    "level",
    "spot_label",
    "notes",
    "meter_expires_at",
)
# A meter is paid for hours, not weeks; later than this is a typo.
METER_HORIZON = timedelta(days=7)
LANDMARK_FIELDS = ("name", "description", "latitude", "longitude")


def _event_query():
    return select(ParkingEvent).options(
        selectinload(ParkingEvent.landmarks), selectinload(ParkingEvent.score)
    )


def get_own_event(user_id: int, event_id: int, *, lock: bool = False) -> ParkingEvent:
    """The user's event with landmarks and score, or 404 (another user's event is not found)."""
    stmt = _event_query().where(ParkingEvent.id == event_id, ParkingEvent.user_id == user_id)
    if lock:
        # Serialises state changes on one event (MariaDB row lock; SQLite has one writer).
        stmt = stmt.with_for_update()
    event = db.session.scalar(stmt)
    if event is None:
        raise NotFound("We could not find that parking event.")
    return event


def attach_photo_urls(events: Iterable[ParkingEvent]) -> None:
    """Sign every photo of these events and their landmarks with one batched lookup."""
    events = list(events)
    owners: list[Any] = []
    for event in events:
        owners.append(event)
        owners.extend(event.landmarks)
    ids = [owner.photo_upload_id for owner in owners if owner.photo_upload_id is not None]
    urls: dict[int, str] = {}
    if ids:
        urls = photo_urls(ids)
    for owner in owners:
        owner.photo_url = urls.get(owner.photo_upload_id) if owner.photo_upload_id else None


def _ready_photo(user_id: int, upload_id: int | None, purposes: tuple[str, ...]) -> int | None:
    """Check that an upload is the user's own finished photo for this purpose (404/409)."""
    if upload_id is None:
        return None

    return ready_upload(user_id=user_id, upload_id=upload_id, purposes=purposes).id


def _discard(upload_ids: Iterable[int | None]) -> None:
    ids = [upload_id for upload_id in upload_ids if upload_id is not None]
    if ids:
        discard_uploads(ids)


def _apply_changes(
    target: ParkingEvent | Landmark,
    changes: dict[str, Any],
    names: tuple[str, ...],
    *,
    user_id: int,
    purposes: tuple[str, ...],
) -> None:
    """Copy the given fields; a new photo must be the user's ready upload, the old is discarded."""
    for name in names:
        if name in changes:
            setattr(target, name, changes[name])
    if "photo_upload_id" in changes and changes["photo_upload_id"] != target.photo_upload_id:
        old = target.photo_upload_id
        target.photo_upload_id = _ready_photo(user_id, changes["photo_upload_id"], purposes)
        _discard([old])


def _own_booking(user_id: int, booking_id: int) -> tuple[Booking, Spot]:
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.user_id != user_id:
        raise NotFound("We could not find that booking.")
    spot = db.session.get(Spot, booking.spot_id)
    return booking, spot


def _event_by_client_uuid(user_id: int, client_uuid: str, *, lock: bool) -> ParkingEvent | None:
    stmt = _event_query().where(
        ParkingEvent.user_id == user_id, ParkingEvent.client_uuid == client_uuid
    )
    if lock:
        # A locking read sees rows committed after this transaction's snapshot (MariaDB). A
        # shared lock, not FOR UPDATE: after the duplicate-key error every loser already holds
        # a shared lock on the row, and upgrading them all to exclusive deadlocks.
        stmt = stmt.with_for_update(read=True)
    return db.session.scalar(stmt)


def create_event(*, user_id: int, data: dict[str, Any]) -> tuple[Any, bool]:
    """Save where the car is; a repeated ``client_uuid`` returns the first event (created=False).
    The event comes back with its photo links signed: a new one as a plain dict (the row the
    INSERT returned), a repeated one as the stored event."""
    event, is_new = _save_event(user_id, data)
    if is_new:
        event["photo_url"] = (
            photo_urls([event["photo_upload_id"]]).get(event["photo_upload_id"])
            if event["photo_upload_id"]
            else None
        )
    else:
        attach_photo_urls([event])
    return event, is_new


def _save_event(user_id: int, data: dict[str, Any]) -> tuple[Any, bool]:
    client_uuid = data.get("client_uuid")
    if isinstance(client_uuid, uuid.UUID):
        client_uuid = str(client_uuid)
    if client_uuid is not None:
        existing = _event_by_client_uuid(user_id, client_uuid, lock=False)
        if existing is not None:
            return existing, False

    now = utcnow()
    parked_at = data.get("parked_at") or now
    if parked_at > now + CLOCK_SKEW:
        raise ValidationFailed(fields={"parked_at": ["The parking time cannot be in the future."]})
    if parked_at < now - OLDEST_PARKED_AT:
        raise ValidationFailed(fields={"parked_at": ["The parking time is too far in the past."]})

    _check_meter(data.get("meter_expires_at"), parked_at)
    values = {name: data.get(name) for name in EVENT_FIELDS if name in data}
    values.update(
        user_id=user_id,
        client_uuid=client_uuid,
        parked_at=parked_at,
        status="active",
        paused_seconds=0.0,
        created_at=now,
        updated_at=now,
    )
    booking_id = data.get("booking_id")
    if booking_id is not None:
        booking, spot = _own_booking(user_id, booking_id)
        # The booking is the record of the spot: it fills in lot, level and spot label.
        values["booking_id"] = booking.id
        values["lot_id"] = booking.lot_id
        if spot is not None:
            values["spot_label"] = str(spot.number)
            if spot.level is not None:
                values["level"] = str(spot.level)
    values["photo_upload_id"] = _ready_photo(user_id, data.get("photo_upload_id"), EVENT_PHOTO)

    # One Core INSERT ... RETURNING: the row as stored, without a unit-of-work flush.
    # On the session's connection: a Core statement needs none of the ORM's execute steps.
    insert = _insert_event()
    if client_uuid is None:
        return _new_event(db.session.connection().execute(insert, values).mappings().one()), True
    try:
        with db.session.begin_nested():
            row = db.session.connection().execute(insert, values).mappings().one()
    except IntegrityError:
        # Two copies of the same offline save raced; the first one stored is the event.
        existing = _event_by_client_uuid(user_id, client_uuid, lock=True)
        if existing is None:
            raise
        return existing, False
    return _new_event(row), True


@cache
def _insert_event() -> Any:
    """The event's INSERT ... RETURNING, built once: the columns given come with the values
    (building the statement with them on each request was a tenth of the request's CPU)."""
    events = ParkingEvent.__table__
    return events.insert().returning(*events.c)


def _new_event(row: Any) -> dict[str, Any]:
    """A just-inserted event as the API shows it: no landmarks and no score yet."""
    return {**row, "landmarks": [], "score": None}


def _check_meter(meter_expires_at, parked_at) -> None:
    if meter_expires_at is None:
        return
    if meter_expires_at <= parked_at:
        raise ValidationFailed(
            fields={"meter_expires_at": ["The meter must run out after the car was parked."]}
        )
    if meter_expires_at > parked_at + METER_HORIZON:
        raise ValidationFailed(
            fields={"meter_expires_at": ["The meter must run out within 7 days of parking."]}
        )


@cache
def _event_ids() -> Select:
    """The list's own rows are read by :func:`event_rows`; this statement only names the ids."""
    return select(ParkingEvent.__table__.c.id)


def list_events(
    *,
    user_id: int,
    status: str | None = None,
    page: int = 1,
    per_page: int = 20,
    cursor: tuple[datetime, int] | None = None,
) -> dict:
    """The user's events, newest first, optionally of one status: the page's ids from
    ``ix_parking_events_user_history`` (or the status one), then the events; any depth with a
    cursor."""
    events = ParkingEvent.__table__
    filters = {"user_id": user_id, **({"status": status} if status is not None else {})}
    statements = history(_event_ids(), events.c.id, events.c.parked_at, tuple(filters))
    return history_page(
        statements,
        filters,
        page=page,
        per_page=per_page,
        cursor=cursor,
        rows=event_rows,
        item_id=lambda event: event["id"],
    )


def latest_active_event(user_id: int) -> ParkingEvent | None:
    """The user's newest event that is still active or being retrieved, if any."""
    return db.session.scalar(
        _event_query()
        .where(ParkingEvent.user_id == user_id, ParkingEvent.status.in_(OPEN_STATUSES))
        .order_by(ParkingEvent.parked_at.desc(), ParkingEvent.id.desc())
        .limit(1)
    )


def require_latest_active_event(*, user_id: int) -> dict:
    """The newest open event with its photo URLs, or 404 ``no_active_event``."""
    event = latest_active_event_view(user_id)
    if event is None:
        raise NotFound("There is no saved parking place right now.", code="no_active_event")
    return event


def show_event(*, user_id: int, event_id: int) -> dict:
    """One of the user's events with landmarks, photo URLs and score, as the schema reads it."""
    event = read_event_view(event_view_statement(False), {"user_id": user_id, "event_id": event_id})
    if event is None:
        raise NotFound("We could not find that parking event.")
    return event


def update_event(*, user_id: int, event_id: int, changes: dict[str, Any]) -> ParkingEvent:
    """Correct the pin, notes, level, spot or photo of an event (never its status)."""
    event = get_own_event(user_id, event_id, lock=True)
    if "meter_expires_at" in changes:
        _check_meter(changes["meter_expires_at"], event.parked_at)
    _apply_changes(event, changes, EVENT_FIELDS, user_id=user_id, purposes=EVENT_PHOTO)
    db.session.flush()
    attach_photo_urls([event])
    return event


def delete_event(*, user_id: int, event_id: int) -> None:
    """Forget an event with its landmarks, assistance log and score; its photos are discarded.
    Its alerts still open end here, and the caregivers alerted are told."""
    event = get_own_event(user_id, event_id, lock=True)
    alerts.resolve_event_alerts(
        event_id=event.id, resolved_by_id=user_id, resolution="the parking place was deleted"
    )
    photos = [event.photo_upload_id, *(landmark.photo_upload_id for landmark in event.landmarks)]
    db.session.delete(event)
    db.session.flush()
    _discard(photos)


# --- landmarks ------------------------------------------------------------------------------


def list_landmarks(*, user_id: int, event_id: int) -> list[Landmark]:
    """The landmarks of one of the user's events, oldest first."""
    event = get_own_event(user_id, event_id)
    attach_photo_urls([event])
    return list(event.landmarks)


def add_landmark(*, user_id: int, event_id: int, data: dict[str, Any]) -> Landmark:
    """Add a landmark to an event: at most ten, or 409 ``too_many_landmarks``."""
    event = get_own_event(user_id, event_id, lock=True)
    if len(event.landmarks) >= MAX_LANDMARKS:
        raise Conflict(
            f"An event can keep up to {MAX_LANDMARKS} landmarks.", code="too_many_landmarks"
        )
    landmark = Landmark(**{name: data.get(name) for name in LANDMARK_FIELDS if name in data})
    landmark.photo_upload_id = _ready_photo(user_id, data.get("photo_upload_id"), LANDMARK_PHOTO)
    event.landmarks.append(landmark)
    db.session.flush()
    attach_photo_urls([event])
    return landmark


def get_own_landmark(user_id: int, landmark_id: int) -> Landmark:
    """A landmark on one of the user's events, or 404."""
    landmark = db.session.scalar(
        select(Landmark)
        .join(ParkingEvent, ParkingEvent.id == Landmark.event_id)
        .where(Landmark.id == landmark_id, ParkingEvent.user_id == user_id)
        .with_for_update()
    )
    if landmark is None:
        raise NotFound("We could not find that landmark.")
    return landmark


def update_landmark(*, user_id: int, landmark_id: int, changes: dict[str, Any]) -> Landmark:
    """Correct a landmark's name, description, position or photo."""
    landmark = get_own_landmark(user_id, landmark_id)
    _apply_changes(landmark, changes, LANDMARK_FIELDS, user_id=user_id, purposes=LANDMARK_PHOTO)
    db.session.flush()
    landmark.photo_url = None
    if landmark.photo_upload_id is not None:
        landmark.photo_url = photo_url(landmark.photo_upload_id)
    return landmark


def delete_landmark(*, user_id: int, landmark_id: int) -> None:
    """Remove a landmark and discard its photo."""
    landmark = get_own_landmark(user_id, landmark_id)
    photo = landmark.photo_upload_id
    db.session.delete(landmark)
    db.session.flush()
    _discard([photo])
