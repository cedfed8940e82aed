"""Scores are computed by the server when a retrieval completes, exactly by the contract."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from app.parking.models import RetrievalScore
from app.parking.scoring import SCORE_VERSION
from app.platform.models import utcnow
from tests.parking.conftest import API


def walk_back(client, headers, event_id, *, factor: float, assists=(), recall=()):
    """Start, ask for the given help, and complete after ``factor`` times the expected time."""
    url = f"{API}/parking-events/{event_id}"
    with time_machine.travel(utcnow(), tick=False) as clock:
        start = client.post(
            f"{url}/retrieval/start", json={"latitude": 0.0, "longitude": 0.001}, headers=headers
        )
        assert start.status_code == 200, start.get_json()
        expected = start.get_json()["expected_seconds"]
        for level in assists:
            response = client.post(f"{url}/assist", json={"level": level}, headers=headers)
            assert response.status_code == 200
        clock.shift(timedelta(seconds=expected * factor))
        done = client.post(
            f"{url}/retrieval/complete",
            json={"found": True, "recall": list(recall)},
            headers=headers,
        )
    assert done.status_code == 200, done.get_json()
    return expected, done.get_json()


def add_landmark(client, headers, event_id, name):
    response = client.post(
        f"{API}/parking-events/{event_id}/landmarks", json={"name": name}, headers=headers
    )
    assert response.status_code == 201
    return response.get_json()["id"]


def test_worked_example_free_and_missed_landmarks_level_two_on_time(client, headers, new_event, db):
    event = new_event(latitude=0.0, longitude=0.0)
    free = add_landmark(client, headers, event["id"], "The red post box")
    add_landmark(client, headers, event["id"], "The flower shop")  # not mentioned: missed
    expected, body = walk_back(
        client,
        headers,
        event["id"],
        factor=1.0,
        assists=(1, 2),
        recall=[{"landmark_id": free, "how": "free"}],
    )
    assert body["status"] == "retrieved"
    assert body["found"] is True
    score = body["score"]
    assert score["landmark_recall"] == 50.0
    assert score["time"] == 100.0
    assert score["assistance"] == 60.0
    assert score["total"] == 65.0
    assert score["highest_assist_level"] == 2
    assert score["assist_count"] == 2
    assert score["score_version"] == SCORE_VERSION
    assert score["expected_seconds"] == pytest.approx(expected)
    assert score["actual_seconds"] == pytest.approx(expected, abs=0.01)
    assert [item["how"] for item in score["recall"]] == ["free", "missed"]

    stored = db.session.query(RetrievalScore).filter_by(event_id=event["id"]).one()
    assert float(stored.total) == 65.0
    assert float(stored.landmark_recall) == 50.0
    assert float(stored.time_score) == 100.0
    assert float(stored.assistance_score) == 60.0

    again = client.get(f"{API}/parking-events/{event['id']}/score", headers=headers)
    assert again.status_code == 200
    assert again.get_json()["total"] == 65.0


def test_worked_example_no_landmarks_no_help_twice_the_time(client, headers, new_event):
    event = new_event(latitude=0.0, longitude=0.0)
    _, body = walk_back(client, headers, event["id"], factor=2.0)
    score = body["score"]
    assert score["landmark_recall"] is None
    assert score["time"] == 50.0
    assert score["assistance"] == 100.0
    assert score["total"] == 75.0
    assert score["highest_assist_level"] == 0
    assert score["assist_count"] == 0


def test_recall_of_a_landmark_from_another_event_is_422_and_changes_nothing(
    client, headers, new_event
):
    mine = new_event()
    other = new_event()
    foreign = add_landmark(client, headers, other["id"], "Somewhere else")
    client.post(f"{API}/parking-events/{mine['id']}/retrieval/start", json={}, headers=headers)
    response = client.post(
        f"{API}/parking-events/{mine['id']}/retrieval/complete",
        json={"found": True, "recall": [{"landmark_id": foreign, "how": "free"}]},
        headers=headers,
    )
    assert response.status_code == 422
    assert "recall" in response.get_json()["error"]["fields"]
    assert (
        client.get(f"{API}/parking-events/{mine['id']}", headers=headers).get_json()["status"]
        == "retrieving"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"recall": []},
        {"found": "maybe"},
        {"found": True, "recall": [{"landmark_id": 1, "how": "guessed"}]},
        {
            "found": True,
            "recall": [{"landmark_id": 1, "how": "free"}, {"landmark_id": 1, "how": "cued"}],
        },
        {"found": True, "score": 100},
        {"found": True, "total": 100, "time": 100},
    ],
)
def test_complete_body_is_validated_and_no_score_can_be_posted(client, headers, new_event, body):
    event = new_event()
    client.post(f"{API}/parking-events/{event['id']}/retrieval/start", json={}, headers=headers)
    response = client.post(
        f"{API}/parking-events/{event['id']}/retrieval/complete", json=body, headers=headers
    )
    assert response.status_code == 422


def test_score_is_409_no_score_until_retrieved(client, headers, new_event):
    event = new_event()
    response = client.get(f"{API}/parking-events/{event['id']}/score", headers=headers)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "no_score"


def test_no_route_accepts_a_score(client, headers, new_event):
    event = new_event()
    for method, path in (
        ("post", f"/parking-events/{event['id']}/score"),
        ("put", f"/parking-events/{event['id']}/score"),
        ("post", "/scores"),
    ):
        response = getattr(client, method)(f"{API}{path}", json={"total": 100}, headers=headers)
        assert response.status_code == 405


def test_without_any_position_a_default_walk_is_assumed(client, headers, new_event):
    event = new_event()
    response = client.post(
        f"{API}/parking-events/{event['id']}/retrieval/start", json={}, headers=headers
    )
    body = response.get_json()
    assert body["distance_m"] is None
    assert body["expected_seconds"] == 300.0
