"""Live retrieval: positions during the walk back, the person's own view and the caregivers'."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.parking.models import RetrievalPosition
from app.platform.models import utcnow
from tests.factories import CircleMembershipFactory, UserFactory
from tests.parking.conftest import API, PARIS


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def at(metres_north: float) -> dict:
    return {"latitude": PARIS["latitude"] + metres_north / 111_195, "longitude": PARIS["longitude"]}


@pytest.fixture
def walk(client, headers, new_event, db):
    """A parking event whose walk back started 10 minutes ago, 300 m north of the car."""
    from app.parking.models import ParkingEvent

    event = new_event()
    started = client.post(
        f"{API}/parking-events/{event['id']}/retrieval/start", json=at(300), headers=headers
    )
    assert started.status_code == 200, started.get_json()
    stored = db.session.get(ParkingEvent, event["id"])
    stored.retrieval_started_at = utcnow() - timedelta(minutes=10)
    db.session.flush()
    return event["id"]


@pytest.fixture
def circle(db, user):
    carer, viewer, former, stranger = (UserFactory() for _ in range(4))
    CircleMembershipFactory(person=user, member=carer)
    CircleMembershipFactory(person=user, member=viewer, role="viewer")
    CircleMembershipFactory(person=user, member=former, status="revoked", open_key=None)
    return {"carer": carer, "viewer": viewer, "former": former, "stranger": stranger}


def post_positions(client, headers, event_id, positions):
    return client.post(
        f"{API}/parking-events/{event_id}/retrieval/positions",
        json={"positions": positions},
        headers=headers,
    )


def test_a_batch_out_of_order_is_stored_in_time_order_once(client, headers, walk, db):
    now = utcnow()
    batch = [
        {**at(100), "recorded_at": iso(now - timedelta(seconds=10)), "accuracy_m": 8},
        {**at(250), "recorded_at": iso(now - timedelta(seconds=50))},
        {**at(180), "recorded_at": iso(now - timedelta(seconds=30))},
    ]
    response = post_positions(client, headers, walk, batch)
    assert response.status_code == 202, response.get_json()
    assert response.get_json() == {"accepted": 3, "ignored": 0}
    # The phone resends the batch (no answer reached it), plus one older and one future point.
    again = post_positions(
        client,
        headers,
        walk,
        [
            *batch,
            {**at(500), "recorded_at": iso(now - timedelta(hours=2))},
            {**at(0), "recorded_at": iso(now + timedelta(hours=1))},
        ],
    )
    assert again.get_json() == {"accepted": 0, "ignored": 5}
    stored = db.session.scalars(
        select(RetrievalPosition.latitude)
        .where(RetrievalPosition.event_id == walk)
        .order_by(RetrievalPosition.id)
    ).all()
    assert stored == [at(250)["latitude"], at(180)["latitude"], at(100)["latitude"]]

    view = client.get(f"{API}/parking-events/{walk}/retrieval", headers=headers).get_json()
    assert [round(p["latitude"], 6) for p in view["trail"]] == [
        round(at(m)["latitude"], 6) for m in (250, 180, 100)
    ]
    assert view["last_position"]["accuracy_m"] == 8
    assert view["distance_to_car_m"] == pytest.approx(100, abs=1)


def test_positions_outside_a_walk_are_refused(client, headers, new_event):
    event = new_event()
    response = post_positions(
        client, headers, event["id"], [{**at(10), "recorded_at": iso(utcnow())}]
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "not_retrieving"
    view = client.get(f"{API}/parking-events/{event['id']}/retrieval", headers=headers)
    assert view.status_code == 404
    assert view.get_json()["error"]["code"] == "no_active_retrieval"


@pytest.mark.parametrize(
    "positions, field",
    [
        ([], "positions"),
        ([{**at(1), "recorded_at": "2026-11-30T00:00:00Z"}] * 101, "positions"),
        ([{"latitude": 91, "longitude": 0, "recorded_at": "2026-11-30T00:00:00Z"}], "positions"),
        ([{**at(1)}], "positions"),
    ],
)
def test_a_malformed_batch_is_refused(client, headers, walk, positions, field):
    response = post_positions(client, headers, walk, positions)
    assert response.status_code == 422
    assert any(name.split(".")[0] == field for name in response.get_json()["error"]["fields"])


def test_who_sees_the_walk(client, auth, user, headers, walk, circle):
    path = f"{API}/people/{user.id}/retrieval"
    seen = client.get(path, headers=auth(circle["carer"]))
    assert seen.status_code == 200, seen.get_json()
    body = seen.get_json()
    assert (body["event_id"], body["user_id"]) == (walk, user.id)
    assert body["expected_seconds"] >= 150
    assert body["distance_to_car_m"] == pytest.approx(300, abs=1)
    assert "shared_with" not in body
    assert client.get(path, headers=headers).status_code == 200  # the person
    for who in ("viewer", "former", "stranger"):
        refused = client.get(path, headers=auth(circle[who]))
        assert refused.status_code == 404, who
        assert refused.get_json()["error"]["code"] == "person_not_found"
    assert client.get(path).status_code == 401
    own = client.get(f"{API}/parking-events/{walk}/retrieval", headers=headers).get_json()
    assert [p["user_id"] for p in own["shared_with"]] == [circle["carer"].id]
    # A caregiver cannot read the event's own view (it is the person's).
    other = client.get(f"{API}/parking-events/{walk}/retrieval", headers=auth(circle["carer"]))
    assert other.status_code == 404


def test_help_asked_during_the_walk_shows_and_the_walk_ends(
    client, auth, headers, user, walk, circle
):
    for level in (2, 4):
        assert (
            client.post(
                f"{API}/parking-events/{walk}/assist",
                json={"level": level, **at(120)},
                headers=headers,
            ).status_code
            == 200
        )
    body = client.get(f"{API}/people/{user.id}/retrieval", headers=auth(circle["carer"])).get_json()
    assert body["max_assist_level"] == 4
    assert [(a["kind"], a["state"]) for a in body["open_alerts"]] == [("call_me", "open")]
    done = client.post(
        f"{API}/parking-events/{walk}/retrieval/complete", json={"found": True}, headers=headers
    )
    assert done.status_code == 200
    after = client.get(f"{API}/people/{user.id}/retrieval", headers=auth(circle["carer"]))
    assert after.status_code == 404
    assert after.get_json()["error"]["code"] == "no_active_retrieval"


def test_the_trail_is_deleted_a_day_after_the_walk(client, headers, walk, db, run_job):
    from app.parking.models import ParkingEvent

    post_positions(client, headers, walk, [{**at(50), "recorded_at": iso(utcnow())}])
    assert (
        client.post(
            f"{API}/parking-events/{walk}/retrieval/complete", json={"found": True}, headers=headers
        ).status_code
        == 200
    )

    def stored() -> int:
        return db.session.scalar(
            select(func.count(RetrievalPosition.id)).where(RetrievalPosition.event_id == walk)
        )

    assert run_job("purge-retrieval-positions") == {"deleted": 0}
    assert stored() == 1
    event = db.session.get(ParkingEvent, walk)
    event.retrieval_completed_at = utcnow() - timedelta(hours=25)
    db.session.flush()
    assert run_job("purge-retrieval-positions") == {"deleted": 1}
    assert stored() == 0


def test_walking_away_from_the_car_for_minutes_alerts_the_caregivers_once(
    client, auth, headers, user, walk, circle, db
):
    from app.circle.models import Alert
    from app.notifications.models import Notification

    now = utcnow()

    def batch(*points):
        return [
            {**at(metres), "recorded_at": iso(now - timedelta(minutes=minutes_ago))}
            for minutes_ago, metres in points
        ]

    # Towards the car first: nothing to worry about.
    post_positions(client, headers, walk, batch((9, 320), (8, 300), (7, 280)))
    assert db.session.scalars(select(Alert).where(Alert.event_id == walk)).all() == []
    # Then away from it for five minutes.
    post_positions(client, headers, walk, batch((5, 290), (3, 350), (1, 420), (0, 460)))
    [alert] = db.session.scalars(select(Alert).where(Alert.event_id == walk)).all()
    assert (alert.kind, alert.state) == ("moving_away", "open")
    post_positions(client, headers, walk, [{**at(520), "recorded_at": iso(utcnow())}])
    assert len(db.session.scalars(select(Alert).where(Alert.event_id == walk)).all()) == 1
    told = db.session.scalars(
        select(Notification.user_id).where(Notification.kind == "moving_away")
    ).all()
    assert sorted(told) == sorted([user.id, circle["carer"].id])
