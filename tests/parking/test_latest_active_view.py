"""The event endpoints answer exactly what ParkingEventSchema makes of the ORM event."""

from __future__ import annotations

import json
from datetime import timedelta

from app.parking.schemas import ParkingEventSchema
from app.parking.service import attach_photo_urls, get_own_event
from app.platform.models import utcnow
from tests.factories import (
    LandmarkFactory,
    ParkingEventFactory,
    RetrievalScoreFactory,
    UploadFactory,
)
from tests.parking.conftest import API


def _pairs(items):
    # Ordered key/value pairs; a signed photo URL is reduced to whether there is one.
    return [(key, bool(value) if key == "photo_url" else value) for key, value in items]


def _ordered(text: str) -> list:
    return json.loads(text, object_pairs_hook=_pairs)


def _schema_body(app, user_id: int, event_id: int) -> str:
    """The body as the documented schema renders the ORM event with batched photo URLs."""
    event = get_own_event(user_id, event_id)
    attach_photo_urls([event])
    return app.json.response(ParkingEventSchema().dump(event)).get_data(as_text=True)


def test_same_body_as_the_schema_with_photos_landmarks_and_score(app, client, headers, user):
    photo = UploadFactory(user=user, purpose="parking_event_photo")
    event = ParkingEventFactory(
        user=user,
        status="retrieving",
        photo_upload_id=photo.id,
        level="-2",
        retrieval_started_at=utcnow() - timedelta(minutes=3),
        distance_m=80.5,
        expected_seconds=90.0,
    )
    ready = UploadFactory(user=user, purpose="landmark_photo")
    pending = UploadFactory(user=user, purpose="landmark_photo", status="pending")
    LandmarkFactory(event=event, name="Lift", photo_upload_id=ready.id)
    LandmarkFactory(event=event, name="Pillar C4", photo_upload_id=pending.id, latitude=None)
    LandmarkFactory(event=event, name="Blue door", description=None)
    RetrievalScoreFactory(event=event, landmark_recall=50, recall=[{"landmark_id": 1}])
    expected = _ordered(_schema_body(app, user.id, event.id))

    latest = client.get(f"{API}/parking-events/latest-active", headers=headers)
    page = client.get(f"{API}/parking-events/{event.id}", headers=headers)

    for response in (latest, page):
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        assert _ordered(response.get_data(as_text=True)) == expected
    body = latest.get_json()
    assert body["photo_url"]
    assert [mark["name"] for mark in body["landmarks"]] == ["Lift", "Pillar C4", "Blue door"]
    assert [bool(mark["photo_url"]) for mark in body["landmarks"]] == [True, False, False]
    assert body["score"]["total"] == 100.0
    assert body["score"]["recall"] == [{"landmark_id": 1}]


def test_an_event_without_landmarks_photo_or_score_is_byte_for_byte(app, client, headers, user):
    event = ParkingEventFactory(user=user)
    expected = _schema_body(app, user.id, event.id).encode()
    latest = client.get(f"{API}/parking-events/latest-active", headers=headers)
    page = client.get(f"{API}/parking-events/{event.id}", headers=headers)
    assert latest.get_data() == page.get_data() == expected
    body = latest.get_json()
    assert body["landmarks"] == [] and body["score"] is None and body["photo_url"] is None


def test_another_users_events_are_not_mine(client, headers, stranger):
    theirs = ParkingEventFactory(user=stranger)
    response = client.get(f"{API}/parking-events/latest-active", headers=headers)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "no_active_event"
    response = client.get(f"{API}/parking-events/{theirs.id}", headers=headers)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    response = client.get(f"{API}/parking-events/{2**31}", headers=headers)
    assert response.status_code == 404
