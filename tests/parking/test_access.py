"""Access matrix: anonymous → 401; another user's event, landmark or score → 404."""

from __future__ import annotations

import pytest

from tests.factories import LandmarkFactory, ParkingEventFactory, RetrievalScoreFactory
from tests.parking.conftest import API

# Every route of the parking blueprint, with a body that would be valid for its owner.
ROUTES = [
    ("get", "/parking-events", None),
    ("post", "/parking-events", {"latitude": 1, "longitude": 1}),
    ("get", "/parking-events/latest-active", None),
    ("get", "/parking-events/{event}", None),
    ("patch", "/parking-events/{event}", {"notes": "mine"}),
    ("delete", "/parking-events/{event}", None),
    ("get", "/parking-events/{event}/landmarks", None),
    ("post", "/parking-events/{event}/landmarks", {"name": "Lamp post"}),
    ("patch", "/landmarks/{landmark}", {"name": "Lamp"}),
    ("delete", "/landmarks/{landmark}", None),
    ("get", "/parking-events/{event}/directions?from=1,1", None),
    ("post", "/parking-events/{event}/retrieval/start", {}),
    ("post", "/parking-events/{event}/retrieval/pause", None),
    ("post", "/parking-events/{event}/retrieval/resume", None),
    ("post", "/parking-events/{event}/retrieval/complete", {"found": True}),
    ("post", "/parking-events/{event}/assist", {"level": 1}),
    (
        "post",
        "/parking-events/{event}/retrieval/positions",
        {"positions": [{"latitude": 1, "longitude": 1, "recorded_at": "2026-11-30T00:00:00Z"}]},
    ),
    ("get", "/parking-events/{scored}/score", None),
    ("get", "/scores", None),
    ("get", "/scores/trend?period=week", None),
]
OWNED = [route for route in ROUTES if "{" in route[1]]


def test_every_parking_route_is_in_the_matrix(app):
    rules = {
        (method.lower(), rule.rule.removeprefix("/api/v1"))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("parking.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    listed = {
        (
            method,
            path.split("?")[0]
            .replace("{event}", "<id:event_id>")
            .replace("{scored}", "<id:event_id>")
            .replace("{landmark}", "<id:landmark_id>"),
        )
        for method, path, _ in ROUTES
    }
    assert rules == listed


@pytest.fixture
def theirs(stranger):
    event = ParkingEventFactory(user=stranger, status="retrieving")
    return {
        "event": event.id,
        "landmark": LandmarkFactory(event=event).id,
        "scored": RetrievalScoreFactory(event__user=stranger, user_id=stranger.id).event_id,
    }


@pytest.mark.parametrize("method,path,body", ROUTES)
def test_anonymous_is_401(client, theirs, method, path, body):
    response = getattr(client, method)(f"{API}{path.format(**theirs)}", json=body)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"].startswith("token")


@pytest.mark.parametrize("method,path,body", OWNED)
def test_another_users_objects_are_404(client, headers, theirs, method, path, body, db):
    response = getattr(client, method)(f"{API}{path.format(**theirs)}", json=body, headers=headers)
    assert response.status_code == 404


def test_lists_and_trend_show_only_my_own(client, headers, theirs):
    assert client.get(f"{API}/parking-events", headers=headers).get_json()["total"] == 0
    assert client.get(f"{API}/scores", headers=headers).get_json()["total"] == 0
    assert client.get(f"{API}/scores/trend", headers=headers).get_json() == []
    response = client.get(f"{API}/parking-events/latest-active", headers=headers)
    assert response.status_code == 404


def test_the_owner_can_reach_their_objects(client, auth, stranger, theirs):
    headers = auth(stranger)
    assert client.get(f"{API}/parking-events/{theirs['event']}", headers=headers).status_code == 200
    assert (
        client.get(f"{API}/parking-events/{theirs['scored']}/score", headers=headers).status_code
        == 200
    )
