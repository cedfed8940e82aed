"""Alerts with a life: an SOS is acknowledged (the person is told help is coming), resolved when
the car is found (every caregiver is told), and escalated once when nobody answers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.circle.models import Alert
from app.notifications.models import Notification
from app.platform.models import utcnow
from tests.factories import CircleMembershipFactory, ParkingEventFactory, UserFactory

API = "/api/v1"


@pytest.fixture
def mailing_app(app, mail_config, monkeypatch):
    for key, value in mail_config.items():
        monkeypatch.setitem(app.config, key, value)
    return app


@pytest.fixture
def circle(db, mailing_app):
    person = UserFactory(full_name="Ada Person")
    sam, kim = UserFactory(full_name="Sam Carer"), UserFactory(full_name="Kim Carer")
    viewer, stranger = UserFactory(), UserFactory()
    for carer in (sam, kim):
        CircleMembershipFactory(person=person, member=carer)
    CircleMembershipFactory(person=person, member=viewer, role="viewer")
    event = ParkingEventFactory(user=person, status="retrieving", retrieval_started_at=utcnow())
    return {
        "person": person,
        "sam": sam,
        "kim": kim,
        "viewer": viewer,
        "stranger": stranger,
        "event": event,
    }


def inbox(db, user, kind):
    return db.session.scalars(
        select(Notification)
        .where(Notification.user_id == user.id, Notification.kind == kind)
        .order_by(Notification.id)
    ).all()


def sos(client, auth, circle) -> int:
    response = client.post(
        f"{API}/parking-events/{circle['event'].id}/assist",
        json={"level": 5, "latitude": 48.86, "longitude": 2.29},
        headers=auth(circle["person"]),
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["alert_id"]


def test_an_sos_is_an_open_alert_that_the_person_and_caregivers_see(client, auth, circle):
    alert_id = sos(client, auth, circle)
    again = sos(client, auth, circle)
    assert again == alert_id  # pressing SOS twice is the same emergency
    for who in ("person", "sam", "kim"):
        listed = client.get(f"{API}/alerts?state=open", headers=auth(circle[who])).get_json()
        assert [a["id"] for a in listed["items"]] == [alert_id], who
        one = client.get(f"{API}/alerts/{alert_id}", headers=auth(circle[who])).get_json()
        assert (one["kind"], one["state"], one["escalated"]) == ("sos", "open", False)
    for who in ("viewer", "stranger"):
        assert client.get(f"{API}/alerts", headers=auth(circle[who])).get_json()["total"] == 0
        refused = client.get(f"{API}/alerts/{alert_id}", headers=auth(circle[who]))
        assert refused.status_code == 404
        assert refused.get_json()["error"]["code"] == "alert_not_found"
    live = client.get(
        f"{API}/people/{circle['person'].id}/retrieval", headers=auth(circle["sam"])
    ).get_json()
    assert [(a["id"], a["state"]) for a in live["open_alerts"]] == [(alert_id, "open")]


def test_acknowledging_tells_the_person_help_is_coming_and_the_others_who_has_it(
    client, auth, db, circle, smtp
):
    alert_id = sos(client, auth, circle)
    path = f"{API}/alerts/{alert_id}/acknowledge"
    assert client.post(path, json={}, headers=auth(circle["person"])).status_code == 403
    taken = client.post(
        path, json={"eta_minutes": 10, "message": "Stay by the lift"}, headers=auth(circle["sam"])
    )
    assert taken.status_code == 200, taken.get_json()
    body = taken.get_json()
    assert (body["state"], body["acknowledged_by_id"], body["eta_minutes"]) == (
        "acknowledged",
        circle["sam"].id,
        10,
    )
    [told] = inbox(db, circle["person"], "alert_acknowledged")
    assert told.title == "Sam Carer is coming, about 10 minutes"
    assert told.body == "Stay by the lift"
    [handled] = inbox(db, circle["kim"], "alert_handled")
    assert "Sam Carer is handling Ada Person's SOS" == handled.title
    assert inbox(db, circle["sam"], "alert_handled") == []
    assert smtp.to(circle["person"].email)[-1]["Subject"].endswith("about 10 minutes")

    second = client.post(path, json={}, headers=auth(circle["kim"]))
    assert second.status_code == 409
    assert second.get_json()["error"]["code"] == "alert_already_acknowledged"
    repeat = client.post(path, json={"eta_minutes": 10}, headers=auth(circle["sam"]))
    assert repeat.status_code == 200
    assert len(inbox(db, circle["person"], "alert_acknowledged")) == 1


def test_finding_the_car_resolves_the_alert_and_tells_every_caregiver(client, auth, db, circle):
    alert_id = sos(client, auth, circle)
    done = client.post(
        f"{API}/parking-events/{circle['event'].id}/retrieval/complete",
        json={"found": True},
        headers=auth(circle["person"]),
    )
    assert done.status_code == 200, done.get_json()
    alert = client.get(f"{API}/alerts/{alert_id}", headers=auth(circle["sam"])).get_json()
    assert (alert["state"], alert["resolved_by_id"], alert["resolution"]) == (
        "resolved",
        circle["person"].id,
        "found the car",
    )
    for carer in ("sam", "kim"):
        [told] = inbox(db, circle[carer], "alert_resolved")
        assert told.title == "Ada Person found the car"
    assert inbox(db, circle["person"], "alert_resolved") == []
    assert inbox(db, circle["viewer"], "alert_resolved") == []
    again = client.post(f"{API}/alerts/{alert_id}/resolve", json={}, headers=auth(circle["sam"]))
    assert again.status_code == 409


def test_a_caregiver_can_close_an_alert_and_the_person_is_told(client, auth, db, circle):
    alert_id = sos(client, auth, circle)
    closed = client.post(
        f"{API}/alerts/{alert_id}/resolve",
        json={"note": "She is with me now"},
        headers=auth(circle["kim"]),
    )
    assert closed.status_code == 200
    assert [n.title for n in inbox(db, circle["person"], "alert_resolved")] == [
        "Ada Person's SOS is over"
    ]
    assert len(inbox(db, circle["sam"], "alert_resolved")) == 1
    assert inbox(db, circle["kim"], "alert_resolved") == []
    viewer = client.post(
        f"{API}/alerts/{alert_id}/resolve", json={}, headers=auth(circle["viewer"])
    )
    assert viewer.status_code == 404


def test_an_sos_nobody_answers_is_escalated_once(client, auth, db, circle, run_job):
    alert_id = sos(client, auth, circle)
    assert run_job("escalate-alerts") == {"escalated": 0}  # not yet five minutes
    alert = db.session.get(Alert, alert_id)
    alert.raised_at = utcnow() - timedelta(minutes=6)
    db.session.flush()
    assert run_job("escalate-alerts") == {"escalated": 1}
    assert run_job("escalate-alerts") == {"escalated": 0}
    for carer in ("sam", "kim"):
        [escalated] = inbox(db, circle[carer], "alert_escalated")
        assert escalated.title.startswith("SOS still unanswered")
    body = client.get(f"{API}/alerts/{alert_id}", headers=auth(circle["sam"])).get_json()
    assert body["escalated"] is True and body["state"] == "open"


def test_an_acknowledged_sos_is_not_escalated(client, auth, db, circle, run_job):
    alert_id = sos(client, auth, circle)
    assert (
        client.post(
            f"{API}/alerts/{alert_id}/acknowledge", json={}, headers=auth(circle["sam"])
        ).status_code
        == 200
    )
    alert = db.session.get(Alert, alert_id)
    alert.raised_at = utcnow() - timedelta(minutes=30)
    db.session.flush()
    assert run_job("escalate-alerts") == {"escalated": 0}


def test_a_stalled_walk_opens_an_alert(client, auth, db, circle, run_job):
    event = circle["event"]
    event.expected_seconds = 60
    event.retrieval_started_at = utcnow() - timedelta(minutes=10)
    db.session.flush()
    assert run_job("stalled-retrievals")["alerted"] == 1
    [alert] = db.session.scalars(select(Alert).where(Alert.event_id == event.id)).all()
    assert (alert.kind, alert.state) == ("stalled", "open")


def test_deleting_the_parking_place_ends_its_alerts_and_tells_the_caregivers(
    client, auth, db, circle
):
    alert_id = sos(client, auth, circle)
    gone = client.delete(
        f"{API}/parking-events/{circle['event'].id}", headers=auth(circle["person"])
    )
    assert gone.status_code == 204
    db.session.expire_all()
    alert = db.session.get(Alert, alert_id)
    assert (alert.state, alert.event_id, alert.resolution) == (
        "resolved",
        None,
        "the parking place was deleted",
    )
    for carer in ("sam", "kim"):
        [told] = inbox(db, circle[carer], "alert_resolved")
        assert told.title == "Ada Person's SOS is over"
