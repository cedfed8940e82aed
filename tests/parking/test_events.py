"""Saving, listing, correcting and deleting parking events through the API."""

from __future__ import annotations

import uuid
from datetime import timedelta
from unittest import mock

import pytest

from app.parking.models import Landmark, ParkingEvent
from app.platform.models import utcnow
from tests.factories import BookingFactory, LandmarkFactory, ParkingEventFactory, SpotFactory
from tests.parking.conftest import API, PARIS


def test_create_returns_201_with_location_and_defaults(client, headers, user):
    response = client.post(
        f"{API}/parking-events",
        json={**PARIS, "notes": "Blue car by the bakery", "level": "P2", "accuracy_m": 5},
        headers=headers,
    )
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/parking-events/{body['id']}")
    assert body["status"] == "active"
    assert body["user_id"] == user.id
    assert body["location_type"] == "outdoor"
    assert body["landmarks"] == []
    assert body["score"] is None
    assert body["photo_url"] is None
    assert body["parked_at"].endswith("Z")


@pytest.mark.parametrize("lat,lng", [(0, 0), (-90, -180), (90, 180), (0.0, -0.0)])
def test_zero_and_extreme_coordinates_are_valid(client, headers, lat, lng):
    response = client.post(
        f"{API}/parking-events", json={"latitude": lat, "longitude": lng}, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["latitude"], response.get_json()["longitude"]) == (lat, lng)


@pytest.mark.parametrize(
    "body,field",
    [
        ({"latitude": 90.0001, "longitude": 0}, "latitude"),
        ({"latitude": -91, "longitude": 0}, "latitude"),
        ({"latitude": 0, "longitude": 180.5}, "longitude"),
        ({"latitude": 0, "longitude": -181}, "longitude"),
        ({"latitude": "north", "longitude": 0}, "latitude"),
        ({"latitude": True, "longitude": 0}, "latitude"),
        ({"longitude": 0}, "latitude"),
        ({**PARIS, "accuracy_m": -1}, "accuracy_m"),
        ({**PARIS, "location_type": "underwater"}, "location_type"),
        ({**PARIS, "notes": "x" * 2001}, "notes"),
        ({**PARIS, "client_uuid": "not-a-uuid"}, "client_uuid"),
        ({**PARIS, "status": "retrieved"}, "status"),
        ({**PARIS, "total": 100}, "total"),
        ({**PARIS, "booking_id": 2**31}, "booking_id"),
    ],
)
def test_invalid_create_is_422_and_names_the_field(client, headers, body, field):
    response = client.post(f"{API}/parking-events", json=body, headers=headers)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"]


def test_parked_at_in_the_future_is_refused_but_small_skew_is_fine(client, headers):
    late = (utcnow() + timedelta(hours=1)).isoformat()
    response = client.post(
        f"{API}/parking-events", json={**PARIS, "parked_at": late}, headers=headers
    )
    assert response.status_code == 422
    assert "parked_at" in response.get_json()["error"]["fields"]

    skewed = (utcnow() + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    response = client.post(
        f"{API}/parking-events", json={**PARIS, "parked_at": skewed}, headers=headers
    )
    assert response.status_code == 201


def test_offline_retry_with_same_client_uuid_returns_the_first_event(client, headers, db):
    key = str(uuid.uuid4())
    first = client.post(
        f"{API}/parking-events",
        json={**PARIS, "client_uuid": key, "notes": "first"},
        headers=headers,
    )
    assert first.status_code == 201
    again = client.post(
        f"{API}/parking-events",
        json={**PARIS, "client_uuid": key.upper(), "notes": "second"},
        headers=headers,
    )
    assert again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["notes"] == "first"
    count = db.session.query(ParkingEvent).filter_by(client_uuid=key).count()
    assert count == 1


def test_same_client_uuid_for_another_user_is_a_separate_event(client, headers, auth, stranger):
    key = str(uuid.uuid4())
    mine = client.post(f"{API}/parking-events", json={**PARIS, "client_uuid": key}, headers=headers)
    theirs = client.post(
        f"{API}/parking-events", json={**PARIS, "client_uuid": key}, headers=auth(stranger)
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.get_json()["id"] != theirs.get_json()["id"]


def test_client_uuid_race_returns_the_stored_event(app, db, user):
    """Two copies of one offline save: the unique constraint picks the first."""
    from app.parking import service

    key = str(uuid.uuid4())
    ParkingEventFactory(user=user, client_uuid=key, notes="stored first")
    real = service._event_by_client_uuid
    locks = []

    def lookup_losing_the_race(user_id, client_uuid, *, lock):
        # The plain look-up ran before the other copy committed; the locking one sees it.
        locks.append(lock)
        return real(user_id, client_uuid, lock=lock) if lock else None

    with (
        app.test_request_context(),
        mock.patch.object(service, "_event_by_client_uuid", lookup_losing_the_race),
    ):
        event, is_new = service.create_event(user_id=user.id, data={**PARIS, "client_uuid": key})
    assert is_new is False
    assert event.notes == "stored first"
    assert locks == [False, True]
    assert db.session.query(ParkingEvent).filter_by(client_uuid=key).count() == 1


def test_booking_fills_lot_level_and_spot(client, headers, user):
    spot = SpotFactory(level=3, number=42)
    booking = BookingFactory(
        user=user,
        spot=spot,
        status="active",
        active_spot_id=spot.id,
        active_user_id=user.id,
        ended_at=None,
        cost_cents=None,
        duration_minutes=None,
    )
    response = client.post(
        f"{API}/parking-events", json={**PARIS, "booking_id": booking.id}, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["booking_id"] == booking.id
    assert body["lot_id"] == spot.lot_id
    assert body["level"] == "3"
    assert body["spot_label"] == "42"


def test_another_users_booking_is_not_found(client, headers, stranger):
    booking = BookingFactory(user=stranger)
    response = client.post(
        f"{API}/parking-events", json={**PARIS, "booking_id": booking.id}, headers=headers
    )
    assert response.status_code == 404
    assert client.get(f"{API}/parking-events", headers=headers).get_json()["total"] == 0


def test_list_is_own_newest_first_filtered_and_paginated(client, headers, user, stranger):
    now = utcnow()
    old = ParkingEventFactory(user=user, parked_at=now - timedelta(days=2), status="retrieved")
    mid = ParkingEventFactory(user=user, parked_at=now - timedelta(days=1))
    new = ParkingEventFactory(user=user, parked_at=now - timedelta(hours=1))
    ParkingEventFactory(user=stranger)

    body = client.get(f"{API}/parking-events", headers=headers).get_json()
    assert [item["id"] for item in body["items"]] == [new.id, mid.id, old.id]
    assert body["total"] == 3 and body["page"] == 1

    body = client.get(f"{API}/parking-events?status=retrieved", headers=headers).get_json()
    assert [item["id"] for item in body["items"]] == [old.id]

    body = client.get(f"{API}/parking-events?per_page=2&page=2", headers=headers).get_json()
    assert [item["id"] for item in body["items"]] == [old.id]
    assert body["pages"] == 2

    response = client.get(f"{API}/parking-events?status=lost", headers=headers)
    assert response.status_code == 422


def test_latest_active(client, headers, user):
    response = client.get(f"{API}/parking-events/latest-active", headers=headers)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "no_active_event"

    now = utcnow()
    ParkingEventFactory(user=user, parked_at=now - timedelta(hours=3), status="retrieving")
    newest = ParkingEventFactory(user=user, parked_at=now - timedelta(hours=1), status="active")
    ParkingEventFactory(user=user, parked_at=now, status="retrieved")
    response = client.get(f"{API}/parking-events/latest-active", headers=headers)
    assert response.status_code == 200
    assert response.get_json()["id"] == newest.id


def test_get_one_includes_landmarks(client, headers, user):
    event = ParkingEventFactory(user=user)
    landmark = LandmarkFactory(event=event, name="Red door")
    body = client.get(f"{API}/parking-events/{event.id}", headers=headers).get_json()
    assert [item["name"] for item in body["landmarks"]] == ["Red door"]
    assert body["landmarks"][0]["id"] == landmark.id


def test_patch_corrects_the_pin_and_notes(client, headers, new_event):
    event = new_event(notes="old")
    response = client.patch(
        f"{API}/parking-events/{event['id']}",
        json={"latitude": 0, "longitude": 0, "notes": "Row C, near the lift", "level": "-2"},
        headers=headers,
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["latitude"], body["longitude"]) == (0, 0)
    assert body["notes"] == "Row C, near the lift"
    assert body["level"] == "-2"
    again = client.get(f"{API}/parking-events/{event['id']}", headers=headers).get_json()
    assert again["notes"] == "Row C, near the lift"


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "retrieved"},
        {"status": "active"},
        {"score": 100},
        {"user_id": 1},
        {"latitude": 10},
        {"latitude": 91, "longitude": 0},
        {"notes": "y" * 2001},
    ],
)
def test_patch_refuses_status_scores_and_bad_values(client, headers, new_event, changes):
    event = new_event(notes="kept")
    response = client.patch(f"{API}/parking-events/{event['id']}", json=changes, headers=headers)
    assert response.status_code == 422
    after = client.get(f"{API}/parking-events/{event['id']}", headers=headers).get_json()
    assert after["status"] == "active" and after["notes"] == "kept"
    assert after["latitude"] == PARIS["latitude"]


def test_delete_removes_the_event_and_its_landmarks(client, headers, user, db):
    event = ParkingEventFactory(user=user)
    LandmarkFactory(event=event)
    LandmarkFactory(event=event)
    event_id = event.id
    response = client.delete(f"{API}/parking-events/{event_id}", headers=headers)
    assert response.status_code == 204
    assert client.get(f"{API}/parking-events/{event_id}", headers=headers).status_code == 404
    db.session.expire_all()
    assert db.session.query(Landmark).filter_by(event_id=event_id).count() == 0


def test_huge_ids_are_404_not_500(client, headers):
    for path in (
        f"/parking-events/{2**31}",
        f"/parking-events/{2**63}/landmarks",
        f"/parking-events/{10**30}/score",
    ):
        assert client.get(f"{API}{path}", headers=headers).status_code == 404
    response = client.patch(f"{API}/landmarks/{2**40}", json={"name": "x"}, headers=headers)
    assert response.status_code == 404


def test_delete_takes_the_help_log_and_score_along(client, headers, new_event, db):
    from app.parking.models import AssistRequest, RetrievalScore

    event = new_event()
    url = f"{API}/parking-events/{event['id']}"
    client.post(f"{url}/landmarks", json={"name": "Gate"}, headers=headers)
    client.post(f"{url}/assist", json={"level": 1}, headers=headers)
    client.post(f"{url}/retrieval/start", json={}, headers=headers)
    done = client.post(f"{url}/retrieval/complete", json={"found": True}, headers=headers)
    assert done.status_code == 200
    assert client.delete(url, headers=headers).status_code == 204
    db.session.expire_all()
    assert db.session.query(AssistRequest).filter_by(event_id=event["id"]).count() == 0
    assert db.session.query(RetrievalScore).filter_by(event_id=event["id"]).count() == 0
    assert db.session.query(Landmark).filter_by(event_id=event["id"]).count() == 0


def test_admins_do_not_see_other_peoples_parking_memory(client, auth, admin, user):
    event = ParkingEventFactory(user=user)
    response = client.get(f"{API}/parking-events/{event.id}", headers=auth(admin))
    assert response.status_code == 404


def test_a_retrieval_written_without_an_expected_time_still_scores(client, headers, user, db):
    event = ParkingEventFactory(
        user=user, status="retrieving", retrieval_started_at=utcnow() - timedelta(minutes=1)
    )
    db.session.commit()
    response = client.post(
        f"{API}/parking-events/{event.id}/retrieval/complete",
        json={"found": False},
        headers=headers,
    )
    assert response.status_code == 200
    assert response.get_json()["score"]["found"] is False
    assert response.get_json()["score"]["expected_seconds"] == 300.0
