"""Meter reminders: the person is reminded METER_REMINDER_MINUTES before the paid time runs out
and again when it has, once each (also when the job runs twice); caregivers are told too while
the car is still parked, and an expired meter of a parked car opens an alert."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.circle.models import Alert
from app.notifications.models import Notification
from app.platform.models import utcnow
from tests.factories import CircleMembershipFactory, UserFactory

API = "/api/v1"
PARIS = {"latitude": 48.8584, "longitude": 2.2945}


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def kinds(db, user) -> list[str]:
    return db.session.scalars(
        select(Notification.kind).where(Notification.user_id == user.id).order_by(Notification.id)
    ).all()


@pytest.fixture
def people(db):
    person, carer = UserFactory(full_name="Ada Person"), UserFactory()
    CircleMembershipFactory(person=person, member=carer)
    return person, carer


def test_the_meter_is_saved_corrected_and_checked(client, auth, people):
    person, _ = people
    headers = auth(person)
    now = utcnow()
    created = client.post(
        f"{API}/parking-events",
        json={**PARIS, "meter_expires_at": iso(now + timedelta(minutes=40))},
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    event = created.get_json()
    assert event["meter_expires_at"] == iso(now + timedelta(minutes=40))
    later = iso(now + timedelta(hours=2))
    patched = client.patch(
        f"{API}/parking-events/{event['id']}", json={"meter_expires_at": later}, headers=headers
    )
    assert patched.status_code == 200 and patched.get_json()["meter_expires_at"] == later
    for wrong in (now - timedelta(hours=1), now + timedelta(days=8)):
        refused = client.patch(
            f"{API}/parking-events/{event['id']}",
            json={"meter_expires_at": iso(wrong)},
            headers=headers,
        )
        assert refused.status_code == 422
        assert "meter_expires_at" in refused.get_json()["error"]["fields"]
    cleared = client.patch(
        f"{API}/parking-events/{event['id']}", json={"meter_expires_at": None}, headers=headers
    )
    assert cleared.get_json()["meter_expires_at"] is None


def test_reminders_come_before_and_at_expiry_once_each(client, auth, db, people, run_job):
    person, carer = people
    start = utcnow()
    created = client.post(
        f"{API}/parking-events",
        json={**PARIS, "meter_expires_at": iso(start + timedelta(minutes=40))},
        headers=auth(person),
    )
    event_id = created.get_json()["id"]
    with time_machine.travel(start, tick=False) as clock:
        assert run_job("meter-reminders") == {"before": 0, "expired": 0}
        clock.shift(timedelta(minutes=24))  # 16 minutes left: not yet
        assert run_job("meter-reminders") == {"before": 0, "expired": 0}
        clock.shift(timedelta(minutes=2))  # 14 minutes left
        assert run_job("meter-reminders") == {"before": 1, "expired": 0}
        assert run_job("meter-reminders") == {"before": 0, "expired": 0}
        assert kinds(db, person) == ["meter_expiring"]
        assert kinds(db, carer) == ["meter_expiring"]
        clock.shift(timedelta(minutes=14, seconds=1))
        assert run_job("meter-reminders") == {"before": 0, "expired": 1}
        assert run_job("meter-reminders") == {"before": 0, "expired": 0}
    assert kinds(db, person) == ["meter_expiring", "meter_expired"]
    assert kinds(db, carer) == ["meter_expiring", "meter_expired"]
    title = db.session.scalar(
        select(Notification.title).where(
            Notification.user_id == person.id, Notification.kind == "meter_expiring"
        )
    )
    assert title == f"Your parking meter runs out at {(start + timedelta(minutes=40)):%H:%M} UTC"
    [alert] = db.session.scalars(select(Alert).where(Alert.event_id == event_id)).all()
    assert (alert.kind, alert.state) == ("meter_expiring", "open")


def test_caregivers_are_not_bothered_once_the_walk_back_has_begun(
    client, auth, db, people, run_job
):
    person, carer = people
    start = utcnow()
    headers = auth(person)
    event_id = client.post(
        f"{API}/parking-events",
        json={**PARIS, "meter_expires_at": iso(start + timedelta(minutes=10))},
        headers=headers,
    ).get_json()["id"]
    assert (
        client.post(
            f"{API}/parking-events/{event_id}/retrieval/start", json={}, headers=headers
        ).status_code
        == 200
    )
    with time_machine.travel(start, tick=False) as clock:
        assert run_job("meter-reminders") == {"before": 1, "expired": 0}
        clock.shift(timedelta(minutes=11))
        assert run_job("meter-reminders") == {"before": 0, "expired": 1}
    assert kinds(db, person) == ["meter_expiring", "meter_expired"]
    assert kinds(db, carer) == []
    assert db.session.scalars(select(Alert).where(Alert.event_id == event_id)).all() == []


def test_a_meter_long_past_is_history_not_a_reminder(client, auth, db, people, run_job):
    person, _ = people
    start = utcnow()
    client.post(
        f"{API}/parking-events",
        json={**PARIS, "meter_expires_at": iso(start + timedelta(minutes=5))},
        headers=auth(person),
    )
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        assert run_job("meter-reminders") == {"before": 0, "expired": 0}
    assert kinds(db, person) == []
