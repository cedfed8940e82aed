"""The status machine over the API and the expiry job: every (from, to) pair.

Allowed: active → retrieving (start), retrieving → retrieved (complete), active → expired (job).
Every other move is 409 ``invalid_transition`` and leaves the event exactly as it was.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from app.parking.jobs import expire_parking_events
from app.parking.models import ParkingEvent
from app.platform.extensions import db
from app.platform.models import utcnow
from tests.factories import ParkingEventFactory
from tests.parking.conftest import API

STATUSES = ("active", "retrieving", "retrieved", "expired")
# The API move that targets each status (``active`` has none: nothing goes back to it).
MOVES = {
    "retrieving": ("post", "/retrieval/start", {}),
    "retrieved": ("post", "/retrieval/complete", {"found": True, "recall": []}),
}
ALLOWED = {("active", "retrieving"), ("retrieving", "retrieved"), ("active", "expired")}


def event_in(user, status: str, **extra) -> ParkingEvent:
    now = utcnow()
    fields = {"status": status, "parked_at": now - timedelta(hours=100)}
    if status in ("retrieving", "retrieved"):
        fields.update(
            retrieval_started_at=now - timedelta(minutes=3),
            expected_seconds=120.0,
            distance_m=120.0,
            pace_m_per_s=1.0,
        )
    if status == "retrieved":
        fields.update(retrieval_completed_at=now - timedelta(minutes=1), found=True)
    if status == "expired":
        fields.update(expired_at=now - timedelta(hours=20))
    fields.update(extra)
    event = ParkingEventFactory(user=user, **fields)
    # Requests share the test's session: commit (to the test's savepoint) so that a refused
    # request's rollback does not take the fixture data with it.
    db.session.commit()
    return event


def snapshot(client, headers, event_id):
    body = client.get(f"{API}/parking-events/{event_id}", headers=headers).get_json()
    body.pop("photo_url", None)
    return body


def run_expiry_job(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["jobs", "run", "expire-parking-events"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("source", STATUSES)
@pytest.mark.parametrize("target", STATUSES)
def test_every_status_pair(app, client, headers, user, db, source, target):
    event = event_in(user, source)
    before = snapshot(client, headers, event.id)
    allowed = (source, target) in ALLOWED

    if target == "expired":
        run_expiry_job(app)
        after = snapshot(client, headers, event.id)
        if allowed:
            assert after["status"] == "expired"
            assert after["expired_at"] is not None
        else:
            assert after == before
        return
    if target == "active":
        # No route moves an event (back) to active; status is never patchable.
        response = client.patch(
            f"{API}/parking-events/{event.id}", json={"status": target}, headers=headers
        )
        assert response.status_code == 422
        assert snapshot(client, headers, event.id) == before
        return

    method, suffix, body = MOVES[target]
    response = getattr(client, method)(
        f"{API}/parking-events/{event.id}{suffix}", json=body, headers=headers
    )
    if allowed:
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == target
    else:
        assert response.status_code == 409, response.get_json()
        assert response.get_json()["error"]["code"] == "invalid_transition"
        assert snapshot(client, headers, event.id) == before


@pytest.mark.parametrize("source", ["active", "retrieved", "expired"])
@pytest.mark.parametrize("action", ["pause", "resume"])
def test_pause_and_resume_only_while_retrieving(client, headers, user, source, action):
    event = event_in(user, source)
    before = snapshot(client, headers, event.id)
    response = client.post(f"{API}/parking-events/{event.id}/retrieval/{action}", headers=headers)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "invalid_transition"
    assert snapshot(client, headers, event.id) == before


def test_pause_twice_and_resume_unpaused_are_refused(client, headers, user):
    event = event_in(user, "retrieving")
    url = f"{API}/parking-events/{event.id}/retrieval"
    assert client.post(f"{url}/resume", headers=headers).status_code == 409
    assert client.post(f"{url}/pause", headers=headers).status_code == 200
    paused = snapshot(client, headers, event.id)
    response = client.post(f"{url}/pause", headers=headers)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "invalid_transition"
    assert snapshot(client, headers, event.id) == paused
    assert client.post(f"{url}/resume", headers=headers).status_code == 200


@pytest.mark.parametrize("source", ["retrieved", "expired"])
def test_assist_is_refused_once_the_event_is_closed(client, headers, user, db, source):
    from app.parking.models import AssistRequest

    event = event_in(user, source)
    response = client.post(
        f"{API}/parking-events/{event.id}/assist", json={"level": 1}, headers=headers
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "invalid_transition"
    assert db.session.query(AssistRequest).filter_by(event_id=event.id).count() == 0


def test_start_computes_distance_and_expected_seconds(client, headers, new_event):
    event = new_event(latitude=0.0, longitude=0.0)
    # 0.001° of latitude is about 111 m.
    response = client.post(
        f"{API}/parking-events/{event['id']}/retrieval/start",
        json={"latitude": 0.001, "longitude": 0.0},
        headers=headers,
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "retrieving"
    assert body["distance_m"] == pytest.approx(111.2, abs=0.5)
    assert body["expected_seconds"] == pytest.approx(111.2, abs=0.5)  # default 1.0 m/s
    assert body["retrieval_started_at"] is not None


def test_indoor_events_add_a_minute_per_level(client, headers, new_event):
    event = new_event(latitude=0.0, longitude=0.0, location_type="indoor", level="P3")
    response = client.post(
        f"{API}/parking-events/{event['id']}/retrieval/start",
        json={"latitude": 0.001, "longitude": 0.0},
        headers=headers,
    )
    assert response.get_json()["expected_seconds"] == pytest.approx(111.2 + 180, abs=0.5)


def test_start_uses_the_persons_own_pace(client, headers, user, new_event):
    from tests.factories import RetrievalScoreFactory

    # Five earlier walks at 0.5 m/s (100 m in 200 s) make the person's pace 0.5 m/s.
    for _ in range(5):
        RetrievalScoreFactory(
            event__user=user, user_id=user.id, distance_m=100.0, actual_seconds=200.0
        )
    event = new_event(latitude=0.0, longitude=0.0)
    response = client.post(
        f"{API}/parking-events/{event['id']}/retrieval/start",
        json={"latitude": 0.001, "longitude": 0.0},
        headers=headers,
    )
    assert response.get_json()["expected_seconds"] == pytest.approx(2 * 111.2, abs=1)


def test_start_rejects_half_a_position(client, headers, new_event):
    event = new_event()
    response = client.post(
        f"{API}/parking-events/{event['id']}/retrieval/start",
        json={"latitude": 1.0},
        headers=headers,
    )
    assert response.status_code == 422
    assert snapshot(client, headers, event["id"])["status"] == "active"


def test_paused_time_does_not_count(client, headers, new_event):
    event = new_event(latitude=0.0, longitude=0.0)
    url = f"{API}/parking-events/{event['id']}/retrieval"
    with time_machine.travel(utcnow(), tick=False) as clock:
        start = client.post(
            f"{url}/start", json={"latitude": 0.0006, "longitude": 0.0}, headers=headers
        ).get_json()
        expected = start["expected_seconds"]
        clock.shift(expected / 2)
        assert client.post(f"{url}/pause", headers=headers).status_code == 200
        clock.shift(600)  # ten minutes on a bench
        resumed = client.post(f"{url}/resume", headers=headers).get_json()
        assert resumed["paused_seconds"] == pytest.approx(600)
        clock.shift(expected / 2)
        done = client.post(f"{url}/complete", json={"found": True}, headers=headers).get_json()
    assert done["status"] == "retrieved"
    assert done["score"]["actual_seconds"] == pytest.approx(expected, abs=0.01)
    assert done["score"]["time"] == 100.0


def test_completing_while_paused_ends_the_pause(client, headers, new_event):
    event = new_event(latitude=0.0, longitude=0.0)
    url = f"{API}/parking-events/{event['id']}/retrieval"
    with time_machine.travel(utcnow(), tick=False) as clock:
        client.post(f"{url}/start", json={"latitude": 0.0, "longitude": 0.0005}, headers=headers)
        clock.shift(40)
        client.post(f"{url}/pause", headers=headers)
        clock.shift(300)
        done = client.post(f"{url}/complete", json={"found": True}, headers=headers).get_json()
    assert done["retrieval_paused_at"] is None
    assert done["score"]["actual_seconds"] == pytest.approx(40, abs=0.01)


def test_expiry_job_expires_only_old_active_events(app, client, headers, user, db):
    ttl = app.config["PARKING_EVENT_TTL_HOURS"]
    now = utcnow()
    old = event_in(user, "active", parked_at=now - timedelta(hours=ttl, minutes=1))
    fresh = event_in(user, "active", parked_at=now - timedelta(hours=ttl - 1))
    walking = event_in(user, "retrieving", parked_at=now - timedelta(hours=ttl * 2))
    output = run_expiry_job(app)
    assert '"expired": 1' in output
    assert snapshot(client, headers, old.id)["status"] == "expired"
    assert snapshot(client, headers, fresh.id)["status"] == "active"
    assert snapshot(client, headers, walking.id)["status"] == "retrieving"
    # Safe to run twice: nothing more to do.
    assert '"expired": 0' in run_expiry_job(app)


def test_expiry_job_function_reports_its_count(app, user, db):
    event_in(user, "active")
    event_in(user, "active")
    with app.test_request_context():
        assert expire_parking_events() == {"expired": 2}


def test_start_without_position_uses_a_recent_help_request_position(client, headers, new_event):
    event = new_event(latitude=0.0, longitude=0.0)
    url = f"{API}/parking-events/{event['id']}"
    with time_machine.travel(utcnow(), tick=False) as clock:
        client.post(
            f"{url}/assist", json={"level": 1, "latitude": 0.001, "longitude": 0.0}, headers=headers
        )
        clock.shift(60)
        body = client.post(f"{url}/retrieval/start", json={}, headers=headers).get_json()
    assert body["distance_m"] == pytest.approx(111.2, abs=0.5)


def test_start_ignores_a_stale_position(client, headers, new_event):
    event = new_event(latitude=0.0, longitude=0.0)
    url = f"{API}/parking-events/{event['id']}"
    with time_machine.travel(utcnow() - timedelta(minutes=11), tick=False):
        client.post(
            f"{url}/assist", json={"level": 1, "latitude": 0.001, "longitude": 0.0}, headers=headers
        )
    body = client.post(f"{url}/retrieval/start", json={}, headers=headers).get_json()
    assert body["distance_m"] is None
