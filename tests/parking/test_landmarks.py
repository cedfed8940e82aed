"""Landmarks: personal cues near the car, up to ten per event, the owner's only."""

from __future__ import annotations

import pytest

from app.parking.models import Landmark
from tests.factories import LandmarkFactory, ParkingEventFactory
from tests.parking.conftest import API


def test_create_list_update_delete(client, headers, new_event, db):
    event = new_event()
    url = f"{API}/parking-events/{event['id']}/landmarks"
    response = client.post(
        url,
        json={
            "name": "Red door",
            "description": "Next to the pharmacy",
            "latitude": 0,
            "longitude": 0,
        },
        headers=headers,
    )
    assert response.status_code == 201
    landmark = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/landmarks/{landmark['id']}")
    assert landmark["event_id"] == event["id"]
    assert (landmark["latitude"], landmark["longitude"]) == (0, 0)
    assert landmark["photo_url"] is None

    listed = client.get(url, headers=headers).get_json()
    assert [item["id"] for item in listed] == [landmark["id"]]

    response = client.patch(
        f"{API}/landmarks/{landmark['id']}",
        json={"name": "Green door", "latitude": None, "longitude": None},
        headers=headers,
    )
    assert response.status_code == 200
    assert response.get_json()["name"] == "Green door"
    assert response.get_json()["latitude"] is None

    event_body = client.get(f"{API}/parking-events/{event['id']}", headers=headers).get_json()
    assert [item["name"] for item in event_body["landmarks"]] == ["Green door"]

    assert client.delete(f"{API}/landmarks/{landmark['id']}", headers=headers).status_code == 204
    assert client.get(url, headers=headers).get_json() == []
    assert db.session.get(Landmark, landmark["id"]) is None


def test_at_most_ten_landmarks(client, headers, new_event):
    event = new_event()
    url = f"{API}/parking-events/{event['id']}/landmarks"
    for n in range(10):
        assert client.post(url, json={"name": f"Cue {n}"}, headers=headers).status_code == 201
    response = client.post(url, json={"name": "One too many"}, headers=headers)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "too_many_landmarks"
    assert len(client.get(url, headers=headers).get_json()) == 10


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "x" * 121},
        {"name": "ok", "description": "d" * 501},
        {"name": "ok", "latitude": 10},
        {"name": "ok", "latitude": 100, "longitude": 0},
        {"name": "ok", "event_id": 3},
    ],
)
def test_invalid_landmarks_are_422(client, headers, new_event, body):
    event = new_event()
    response = client.post(
        f"{API}/parking-events/{event['id']}/landmarks", json=body, headers=headers
    )
    assert response.status_code == 422


def test_patch_must_move_both_coordinates(client, headers, user):
    landmark = LandmarkFactory(event=ParkingEventFactory(user=user))
    response = client.patch(f"{API}/landmarks/{landmark.id}", json={"latitude": 1}, headers=headers)
    assert response.status_code == 422
