"""The assistance ladder: each level's help, a kind message, and a log row for every call."""

from __future__ import annotations

from unittest import mock

import pytest

from app.parking.models import AssistRequest, ParkingEvent
from tests.factories import CircleMembershipFactory, UserFactory
from tests.parking.conftest import API

DIAGNOSTIC_WORDS = ("dementia", "impair", "cognitive", "decline", "memory loss", "alzheimer")


def ask(client, headers, event_id, **body):
    response = client.post(f"{API}/parking-events/{event_id}/assist", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["message"]
    assert not any(word in answer["message"].lower() for word in DIAGNOSTIC_WORDS)
    return answer


def test_level_one_gives_back_my_own_notes(client, headers, new_event):
    event = new_event(notes="Next to the blue van", level="P2", spot_label="C14", address="1 Rue")
    answer = ask(client, headers, event["id"], level=1)
    assert answer["level"] == 1
    assert answer["reminder"]["notes"] == "Next to the blue van"
    assert answer["reminder"]["level"] == "P2"
    assert answer["reminder"]["spot_label"] == "C14"
    assert answer["reminder"]["address"] == "1 Rue"
    assert answer["reminder"]["photo_url"] is None
    assert answer["next_level"] == 2 and answer["next_level_hint"]
    assert "landmarks" not in answer and "directions" not in answer


def test_level_two_gives_landmarks_with_distance_and_bearing(client, headers, new_event):
    event = new_event(latitude=0.0, longitude=0.0)
    for body in (
        {"name": "Fountain", "latitude": 0.001, "longitude": 0.0},
        {"name": "Bakery sign"},
    ):
        client.post(f"{API}/parking-events/{event['id']}/landmarks", json=body, headers=headers)
    answer = ask(client, headers, event["id"], level=2, latitude=0.0, longitude=0.0)
    fountain, bakery = answer["landmarks"]
    assert fountain["name"] == "Fountain"
    assert fountain["distance_m"] == pytest.approx(111.2, abs=0.5)
    assert fountain["bearing_deg"] == pytest.approx(0.0, abs=0.1)
    assert fountain["compass"] == "N"
    assert "photo_url" in fountain
    assert bakery["distance_m"] is None and bakery["bearing_deg"] is None

    without_position = ask(client, headers, event["id"], level=2)
    assert without_position["landmarks"][0]["distance_m"] is None


def test_level_two_without_landmarks_says_so_kindly(client, headers, new_event):
    event = new_event()
    answer = ask(client, headers, event["id"], level=2)
    assert answer["landmarks"] == []
    assert "next step" in answer["message"]


def test_level_three_gives_the_way(client, headers, new_event):
    event = new_event(latitude=0.0, longitude=0.0)
    answer = ask(client, headers, event["id"], level=3, latitude=0.0, longitude=-0.001)
    route = answer["directions"]
    assert route["distance_m"] == pytest.approx(111.2, abs=0.5)
    assert route["bearing_deg"] == pytest.approx(90.0, abs=0.1)
    assert route["compass"] == "E"
    assert route["walking_minutes"] == 2  # 111 m at 1.0 m/s
    assert route["links"]["geo"] == "geo:0.000000,0.000000"
    assert "110 metres" in answer["message"] and "east" in answer["message"]

    no_position = ask(client, headers, event["id"], level=3)
    assert no_position["directions"]["distance_m"] is None
    assert no_position["directions"]["links"]["google"].startswith("https://www.google.com/maps")


@pytest.mark.parametrize("level", [4, 5])
def test_levels_four_and_five_alert_the_care_circle(client, headers, user, new_event, level, db):
    from app.circle.models import Alert

    helper = UserFactory()
    CircleMembershipFactory(person=user, member=helper, role="caregiver", status="accepted")
    event = new_event()
    answer = ask(client, headers, event["id"], level=level, latitude=1.5, longitude=2.5)
    alert = db.session.get(Alert, answer["alert_id"])
    assert (alert.person_id, alert.event_id, alert.assist_id, alert.state) == (
        user.id,
        event["id"],
        answer["assist_id"],
        "open",
    )
    assert alert.kind == ("sos" if level == 5 else "call_me")
    assert (alert.latitude, alert.longitude) == (1.5, 2.5)
    assert answer["care_circle_alerted"] is True
    assert answer["urgent"] is (level == 5)
    assert "helpers" in answer["message"]
    assert answer["next_level"] == (5 if level == 4 else None)


def test_without_helpers_the_person_is_told_honestly(client, headers, new_event):
    event = new_event()
    with mock.patch("app.circle.alerts.alert_assist"):
        answer = ask(client, headers, event["id"], level=5)
    assert answer["care_circle_alerted"] is False
    assert "No helpers are set up" in answer["message"]


def test_every_assist_is_logged_with_time_level_and_position(client, headers, user, new_event, db):
    event = new_event()
    ask(client, headers, event["id"], level=1)
    ask(client, headers, event["id"], level=3, latitude=48.86, longitude=2.29)
    ask(client, headers, event["id"], level=2, latitude=0, longitude=0)
    rows = (
        db.session.query(AssistRequest)
        .filter_by(event_id=event["id"])
        .order_by(AssistRequest.id)
        .all()
    )
    assert [(row.level, row.latitude, row.longitude) for row in rows] == [
        (1, None, None),
        (3, 48.86, 2.29),
        (2, 0.0, 0.0),
    ]
    assert all(row.user_id == user.id and row.created_at is not None for row in rows)
    stored = db.session.get(ParkingEvent, event["id"])
    db.session.refresh(stored)
    assert (stored.last_latitude, stored.last_longitude) == (0.0, 0.0)


@pytest.mark.parametrize(
    "body", [{}, {"level": 0}, {"level": 6}, {"level": "2"}, {"level": 2, "latitude": 1.0}]
)
def test_bad_assist_bodies_are_422_and_not_logged(client, headers, new_event, db, body):
    event = new_event()
    response = client.post(f"{API}/parking-events/{event['id']}/assist", json=body, headers=headers)
    assert response.status_code == 422
    assert db.session.query(AssistRequest).filter_by(event_id=event["id"]).count() == 0


def test_directions_from_a_position(client, headers, new_event):
    event = new_event(latitude=51.5007, longitude=-0.1246)
    response = client.get(
        f"{API}/parking-events/{event['id']}/directions?from=51.5033,-0.1196", headers=headers
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["distance_m"] == pytest.approx(446, rel=0.02)
    assert 220 < body["bearing_deg"] < 240
    assert body["compass"] == "SW"
    assert body["links"] == {
        "google": "https://www.google.com/maps/dir/?api=1&destination=51.500700,-0.124600"
        "&travelmode=walking",
        "apple": "https://maps.apple.com/?daddr=51.500700,-0.124600&dirflg=w",
        "geo": "geo:51.500700,-0.124600",
    }


@pytest.mark.parametrize("value", ["abc", "1", "1,2,3", "91,0", "0,181", "nan,0", "1;2", ""])
def test_malformed_from_is_422(client, headers, new_event, value):
    event = new_event()
    response = client.get(
        f"{API}/parking-events/{event['id']}/directions?from={value}", headers=headers
    )
    assert response.status_code == 422
    assert "from" in response.get_json()["error"]["fields"]


def test_directions_without_from_give_links_only(client, headers, new_event):
    event = new_event()
    body = client.get(f"{API}/parking-events/{event['id']}/directions", headers=headers).get_json()
    assert body["distance_m"] is None and body["links"]["geo"].startswith("geo:")


def test_level_four_reaches_the_real_alert_service(client, headers, user, new_event):
    CircleMembershipFactory(person=user, role="caregiver", status="accepted")
    event = new_event()
    answer = ask(client, headers, event["id"], level=4, latitude=48.0, longitude=2.0)
    assert answer["care_circle_alerted"] is True
