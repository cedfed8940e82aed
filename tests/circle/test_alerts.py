"""Caregiver alerts: delivered once each, in-app, by e-mail (a real SMTP server) and webhook."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.circle.models import CircleMembership
from app.notifications.models import Notification
from app.platform.models import OutboundMessage, utcnow
from app.platform.queue import send_ready_tasks
from tests.factories import (
    AssistRequestFactory,
    CircleMembershipFactory,
    ParkingEventFactory,
    UserFactory,
)
from tests.support.webhook import webhook_receiver

API = "/api/v1"


@pytest.fixture
def mailing_app(app, mail_config, monkeypatch):
    """The test app, sending mail to the aiosmtpd inbox for this test."""
    for key, value in mail_config.items():
        monkeypatch.setitem(app.config, key, value)
    return app


@pytest.fixture
def circle(db):
    """A person with two caregivers, a viewer, an invited caregiver and an ex-caregiver."""
    person = UserFactory(full_name="Ada Person")
    carers = [UserFactory(), UserFactory()]
    for carer in carers:
        CircleMembershipFactory(person=person, member=carer)
    others = {
        "viewer": UserFactory(),
        "invited": UserFactory(),
        "former": UserFactory(),
        "stranger": UserFactory(),
    }
    CircleMembershipFactory(person=person, member=others["viewer"], role="viewer")
    CircleMembershipFactory(
        person=person, member=others["invited"], status="pending", responded_at=None
    )
    CircleMembershipFactory(person=person, member=others["former"], status="revoked", open_key=None)
    return person, carers, others


def inbox(db, user, kind=None):
    stmt = select(Notification).where(Notification.user_id == user.id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return db.session.scalars(stmt.order_by(Notification.id)).all()


def run_job(func):
    """What ``flask jobs run`` and the beat task do: the job, one commit, then the tasks."""
    from app.platform.extensions import db

    result = func()
    db.session.commit()
    send_ready_tasks()
    return result


def test_sos_through_the_api_alerts_each_caregiver_once(
    client, auth, db, mailing_app, smtp, circle
):
    person, carers, others = circle
    event = ParkingEventFactory(user=person, latitude=48.8584, longitude=2.2945)

    response = client.post(
        f"{API}/parking-events/{event.id}/assist",
        json={"level": 5, "latitude": 48.86, "longitude": 2.29},
        headers=auth(person),
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["care_circle_alerted"] is True
    assist_id = response.get_json()["assist_id"]

    for carer in carers:
        [alert] = inbox(db, carer, "assist_level_5")
        assert alert.dedupe_key == f"assist:{assist_id}:{carer.id}"
        assert "Ada Person" in alert.title
        assert alert.data["person"]["id"] == person.id
        assert alert.data["last_position"]["latitude"] == 48.86
        assert alert.data["last_position"]["links"]["geo"] == "geo:48.860000,2.290000"
        assert alert.data["car"]["links"]["geo"] == "geo:48.858400,2.294500"
        assert "travelmode=walking" in alert.data["car"]["links"]["google"]
    for other in others.values():
        assert inbox(db, other, "assist_level_5") == []

    messages = smtp.wait_for(2)
    assert sorted(m["To"] for m in messages) == sorted(c.email for c in carers)
    assert all("SOS" in m["Subject"] for m in messages)

    # The same alert processed again (a retry, a duplicate delivery): nothing more.
    from app.circle.tasks import deliver_assist_alert

    deliver_assist_alert(assist_id)
    deliver_assist_alert(assist_id)
    for carer in carers:
        assert len(inbox(db, carer, "assist_level_5")) == 1
    smtp.wait_for(3, timeout=1.0)
    assert len(smtp.messages) == 2
    sent = db.session.scalar(
        select(func.count(OutboundMessage.id)).where(
            OutboundMessage.dedupe_key.like(f"assist:{assist_id}:%"),
            OutboundMessage.status == "sent",
        )
    )
    assert sent == 2


def test_alert_assist_and_task_directly(db, mailing_app, smtp, circle):
    from app.circle.alerts import alert_assist
    from app.circle.tasks import deliver_assist_alert

    person, carers, _ = circle
    assist = AssistRequestFactory(
        event=ParkingEventFactory(user=person), level=4, latitude=None, longitude=None
    )
    alert_assist(
        person_id=person.id,
        event_id=assist.event_id,
        assist_id=assist.id,
        level=4,
        latitude=None,
        longitude=None,
    )
    # Nothing is sent before the commit.
    assert inbox(db, carers[0]) == []
    db.session.commit()
    send_ready_tasks()
    deliver_assist_alert(assist.id)
    for carer in carers:
        [alert] = inbox(db, carer)
        assert alert.kind == "assist_level_4"
        assert alert.data["last_position"] is None
        assert alert.data["car"]["links"]["apple"].startswith("https://maps.apple.com/")
    assert len(smtp.wait_for(2)) == 2
    smtp.wait_for(3, timeout=0.5)
    assert len(smtp.messages) == 2


def test_rolled_back_request_sends_no_alert(db, circle):
    from app.circle.alerts import alert_assist

    person, _, _ = circle
    assist = AssistRequestFactory(event=ParkingEventFactory(user=person), level=5)
    alert_assist(
        person_id=person.id,
        event_id=assist.event_id,
        assist_id=assist.id,
        level=5,
        latitude=None,
        longitude=None,
    )
    db.session.rollback()
    db.session.commit()
    assert send_ready_tasks() == 0


@pytest.mark.parametrize("level", [1, 2, 3])
def test_lower_levels_do_not_alert_the_circle(client, auth, db, circle, level):
    person, carers, _ = circle
    event = ParkingEventFactory(user=person)
    response = client.post(
        f"{API}/parking-events/{event.id}/assist",
        json={"level": level, "latitude": 48.86, "longitude": 2.29},
        headers=auth(person),
    )
    assert response.status_code == 200
    assert inbox(db, carers[0]) == []


@pytest.fixture
def webhook(app, monkeypatch):
    with webhook_receiver("/hook/secret") as (url, received):
        monkeypatch.setitem(app.config, "NOTIFY_WEBHOOK_URL", url)
        yield received


def test_sos_is_posted_to_the_webhook_once(db, circle, webhook):
    from app.circle.tasks import deliver_assist_alert

    person, _, _ = circle
    assist = AssistRequestFactory(event=ParkingEventFactory(user=person), level=5)
    deliver_assist_alert(assist.id)
    deliver_assist_alert(assist.id)
    assert len(webhook) == 1
    assert "assist level 5" in webhook[0]["text"]
    # The operators' channel gets no name, e-mail or position.
    assert person.username not in json.dumps(webhook[0])
    assert "latitude" not in json.dumps(webhook[0])


# Scheduled jobs -------------------------------------------------------------------------------


def test_stalled_retrieval_alerts_once_when_the_job_runs_twice(db, mailing_app, smtp, circle):
    from app.circle.jobs import alert_stalled_retrievals

    person, carers, others = circle
    now = utcnow()
    stalled = ParkingEventFactory(
        user=person,
        status="retrieving",
        retrieval_started_at=now - timedelta(seconds=400),
        expected_seconds=100.0,
        last_latitude=48.859,
        last_longitude=2.293,
    )
    # Long ago, but mostly paused: 400 s - 200 s paused = 200 s active, under 3 x 100 s.
    ParkingEventFactory(
        user=UserFactory(),
        status="retrieving",
        retrieval_started_at=now - timedelta(seconds=400),
        paused_seconds=200.0,
        expected_seconds=100.0,
    )
    # Paused right now after 100 s of walking: the clock stands still.
    ParkingEventFactory(
        user=UserFactory(),
        status="retrieving",
        retrieval_started_at=now - timedelta(seconds=1000),
        retrieval_paused_at=now - timedelta(seconds=900),
        expected_seconds=100.0,
    )

    assert run_job(alert_stalled_retrievals)["alerted"] == 1
    assert run_job(alert_stalled_retrievals)["alerted"] == 0

    for carer in carers:
        [alert] = inbox(db, carer, "retrieval_stalled")
        assert alert.data["event_id"] == stalled.id
        assert alert.data["last_position"]["links"]["geo"] == "geo:48.859000,2.293000"
        assert alert.data["car"]["links"]["geo"].startswith("geo:")
    assert len(inbox(db, person, "retrieval_stalled")) == 1
    assert inbox(db, others["viewer"]) == []
    # E-mail to each caregiver once; the person, busy walking, is told in the app.
    smtp.wait_for(3, timeout=1.0)
    assert sorted(m["To"] for m in smtp.messages) == sorted(c.email for c in carers)

    # Running the delivery again sends nothing more.
    from app.circle.tasks import deliver_event_notice

    deliver_event_notice("retrieval_stalled", stalled.id)
    assert len(inbox(db, carers[0], "retrieval_stalled")) == 1
    assert len(smtp.messages) == 2


def test_expiring_event_warns_person_and_caregivers_once(app, db, mailing_app, smtp, circle):
    from app.circle.jobs import alert_expiring_parking_events

    person, carers, _ = circle
    ttl = app.config["PARKING_EVENT_TTL_HOURS"]
    now = utcnow()
    expiring = ParkingEventFactory(user=person, parked_at=now - timedelta(hours=ttl - 5))
    ParkingEventFactory(user=person, parked_at=now - timedelta(hours=ttl - 7))
    ParkingEventFactory(user=person, parked_at=now - timedelta(hours=ttl + 1))
    ParkingEventFactory(user=person, parked_at=now - timedelta(hours=ttl - 1), status="retrieved")

    assert run_job(alert_expiring_parking_events)["alerted"] == 1
    assert run_job(alert_expiring_parking_events)["alerted"] == 0
    for user in (person, *carers):
        [notice] = inbox(db, user, "parking_expiring")
        assert notice.data["event_id"] == expiring.id
    smtp.wait_for(4, timeout=1.0)
    assert sorted(m["To"] for m in smtp.messages) == sorted(u.email for u in (person, *carers))


def test_expire_invitations_job(db, circle):
    from app.circle.jobs import expire_invitations
    from app.circle.models import CircleAudit, CircleMembership

    person, _, others = circle
    stale = CircleMembershipFactory(
        person=person,
        member=UserFactory(),
        status="pending",
        responded_at=None,
        expires_at=utcnow() - timedelta(minutes=1),
    )
    assert run_job(expire_invitations) == {"expired": 1}
    assert run_job(expire_invitations) == {"expired": 0}
    db.session.refresh(stale)
    assert stale.status == "expired"
    assert stale.open_key is None
    fresh = db.session.scalar(
        select(CircleMembership).where(CircleMembership.member_id == others["invited"].id)
    )
    assert fresh.status == "pending"
    actions = db.session.scalars(
        select(CircleAudit.action).where(CircleAudit.membership_id == stale.id)
    ).all()
    assert actions == ["expired"]
    assert [n.kind for n in inbox(db, person)] == ["circle_expired"]


def test_jobs_are_registered():
    from app.platform.scheduling import discover_jobs

    jobs = discover_jobs()
    assert {"stalled-retrievals", "expiring-parking-events", "expire-invitations"} <= set(jobs)
    assert jobs["stalled-retrievals"].cron == "* * * * *"


def test_an_sos_email_goes_out_when_the_name_holds_a_line_break(
    client, auth, db, mailing_app, smtp, circle
):
    """A name stored with a line break (before names were checked) must not stop the SOS."""
    person, carers, _ = circle
    person.full_name = "Ada\r\nPerson"
    db.session.commit()
    event = ParkingEventFactory(user=person)
    response = client.post(
        f"{API}/parking-events/{event.id}/assist", json={"level": 5}, headers=auth(person)
    )
    assert response.status_code == 200, response.get_json()
    messages = smtp.wait_for(2)
    assert sorted(m["To"] for m in messages) == sorted(c.email for c in carers)
    assert all("\n" not in m["Subject"] and "Ada Person" in m["Subject"] for m in messages)


def test_names_and_labels_refuse_control_characters(client, auth, user):
    for body in ({"full_name": "Ada\nPerson"}, {"vehicle_number": "KA\t01"}):
        response = client.patch(f"{API}/me", json=body, headers=auth(user))
        assert response.status_code == 422
        assert set(body) <= set(response.get_json()["error"]["fields"])
    fine = client.patch(f"{API}/me", json={"full_name": "Ada Person"}, headers=auth(user))
    assert fine.status_code == 200


def test_a_caregiver_who_joins_during_an_open_sos_is_alerted_too(
    client, auth, db, mailing_app, smtp, circle
):
    """The SOS went to the caregivers of the moment; someone who accepts an invitation while the
    person is still walking back gets it as well (once), and nobody else gets it again. A viewer
    who joins, or a caregiver who joins after the walk ended, gets nothing."""
    person, carers, others = circle
    event = ParkingEventFactory(user=person, status="retrieving", retrieval_started_at=utcnow())
    sos = client.post(
        f"{API}/parking-events/{event.id}/assist", json={"level": 5}, headers=auth(person)
    )
    assert sos.status_code == 200 and sos.get_json()["care_circle_alerted"] is True
    assert [len(inbox(db, carer, "assist_level_5")) for carer in carers] == [1, 1]
    smtp.wait_for(2, timeout=5)

    invitation = db.session.scalar(
        select(CircleMembership.id).where(CircleMembership.member_id == others["invited"].id)
    )
    accepted = client.post(
        f"{API}/invitations/{invitation}/accept", headers=auth(others["invited"])
    )
    assert accepted.status_code == 200, accepted.get_json()
    [alert] = inbox(db, others["invited"], "assist_level_5")
    assert alert.data["assist_id"] == sos.get_json()["assist_id"]
    assert [len(inbox(db, carer, "assist_level_5")) for carer in carers] == [1, 1]
    smtp.wait_for(4, timeout=5)  # and the person is told who joined
    assert [len(smtp.to(carer.email)) for carer in carers] == [1, 1]
    [mail] = smtp.to(others["invited"].email)
    assert "SOS" in mail["Subject"]

    # A viewer who joins now is not alerted (viewers never are).
    watcher = UserFactory()
    CircleMembershipFactory(person=person, member=watcher, role="viewer", status="pending")
    pending = db.session.scalar(
        select(CircleMembership.id).where(CircleMembership.member_id == watcher.id)
    )
    assert (
        client.post(f"{API}/invitations/{pending}/accept", headers=auth(watcher)).status_code == 200
    )
    assert inbox(db, watcher, "assist_level_5") == []

    # Once the walk back has ended, the alert is closed: a later caregiver is not alarmed.
    done = client.post(
        f"{API}/parking-events/{event.id}/retrieval/complete",
        json={"found": True},
        headers=auth(person),
    )
    assert done.status_code == 200, done.get_json()
    late = UserFactory()
    CircleMembershipFactory(person=person, member=late, status="pending", responded_at=None)
    later = db.session.scalar(
        select(CircleMembership.id).where(CircleMembership.member_id == late.id)
    )
    assert client.post(f"{API}/invitations/{later}/accept", headers=auth(late)).status_code == 200
    assert inbox(db, late, "assist_level_5") == []
