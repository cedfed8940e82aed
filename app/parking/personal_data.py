"""What parking memory holds about a person: where they parked, how they found the car again,
the help they asked for and their scores (see app.platform.personal_data)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, select

from app.parking.models import (
    AssistRequest,
    Landmark,
    ParkingEvent,
    RetrievalPosition,
    RetrievalScore,
)
from app.platform.extensions import db
from app.platform.personal_data import Erased, eraser, part, record


def _event_ids(user_id: int):
    return select(ParkingEvent.id).where(ParkingEvent.user_id == user_id)


@part(
    "parking_events",
    about=(
        "Every place you saved your car: position, level, spot, notes, meter, the walk back "
        "(start, end, distance, pace, found) and your landmarks."
    ),
    models=[ParkingEvent, Landmark],
)
def export_parking_events(user_id: int) -> list[dict]:
    """The person's parking events with their landmarks, oldest first."""
    landmarks: dict[int, list[dict]] = defaultdict(list)
    for landmark in db.session.scalars(
        select(Landmark).where(Landmark.event_id.in_(_event_ids(user_id))).order_by(Landmark.id)
    ):
        landmarks[landmark.event_id].append(record(landmark))
    events = db.session.scalars(
        select(ParkingEvent)
        .where(ParkingEvent.user_id == user_id)
        .order_by(ParkingEvent.parked_at, ParkingEvent.id)
    )
    return [{**record(event), "landmarks": landmarks.get(event.id, [])} for event in events]


@part(
    "retrieval_positions",
    about="Positions sent during a walk back (deleted a day after the walk ends).",
    models=[RetrievalPosition],
)
def export_positions(user_id: int) -> list[dict]:
    """Walk-back positions still kept."""
    rows = db.session.scalars(
        select(RetrievalPosition)
        .where(RetrievalPosition.event_id.in_(_event_ids(user_id)))
        .order_by(RetrievalPosition.event_id, RetrievalPosition.recorded_at)
    )
    return [record(position) for position in rows]


@part(
    "assistance_steps",
    about="Each time you asked for more help on a walk back: level, time and place.",
    models=[AssistRequest],
)
def export_assistance(user_id: int) -> list[dict]:
    """Help asked for, oldest first."""
    rows = db.session.scalars(
        select(AssistRequest)
        .where(AssistRequest.user_id == user_id)
        .order_by(AssistRequest.created_at, AssistRequest.id)
    )
    return [record(step) for step in rows]


@part(
    "scores",
    about="The private score of each walk back, with its version and every part of it.",
    models=[RetrievalScore],
)
def export_scores(user_id: int) -> list[dict]:
    """Retrieval scores, oldest first."""
    rows = db.session.scalars(
        select(RetrievalScore)
        .where(RetrievalScore.user_id == user_id)
        .order_by(RetrievalScore.created_at, RetrievalScore.id)
    )
    return [record(score) for score in rows]


@eraser("parking", order=20)
def erase_parking(user_id: int) -> Erased:
    """Everything parking memory knows about the person goes: events, landmarks, walks, help
    asked for and scores (their photos go with the uploads)."""
    events = _event_ids(user_id)
    counts = {}
    for name, model, where in (
        ("retrieval_positions", RetrievalPosition, RetrievalPosition.event_id.in_(events)),
        ("assistance_steps", AssistRequest, AssistRequest.event_id.in_(events)),
        ("scores", RetrievalScore, RetrievalScore.event_id.in_(events)),
        ("landmarks", Landmark, Landmark.event_id.in_(events)),
        ("parking_events", ParkingEvent, ParkingEvent.user_id == user_id),
    ):
        result = db.session.execute(
            delete(model).where(where).execution_options(synchronize_session=False)
        )
        counts[name] = result.rowcount or 0
    return Erased(counts)
