"""Who looked: every path through which someone other than the person reads the person's data
leaves a row in the person's access log, and only the person can read that log.

The read paths are taken from the URL map (every route about a person by id, every route the
access matrix marks as a caregiver's, and the alerts a caregiver shares), so a new caregiver
route that does not log fails ``test_every_read_path_of_someone_elses_data_is_listed``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.platform.models import utcnow
from tests import factories
from tests.hardening.test_access_matrix import CAREGIVER, MATRIX

API = "/api/v1"

# (method, rule) -> (who reads, query string, the resource recorded)
LOGGED = {
    ("GET", f"{API}/people/<id:user_id>/parking-events/latest-active"): (
        "caregiver",
        "",
        "latest_parking_event",
    ),
    ("GET", f"{API}/people/<id:user_id>/retrieval"): ("caregiver", "", "live_retrieval"),
    ("GET", f"{API}/people/<id:user_id>/scores/trend"): ("viewer", "?period=week", "score_trend"),
    ("GET", f"{API}/alerts"): ("caregiver", "", "alerts"),
    ("GET", f"{API}/alerts/<id:alert_id>"): ("caregiver", "", "alert"),
    ("GET", f"{API}/admin/users/<id:user_id>"): ("admin", "", "profile"),
    ("GET", f"{API}/admin/bookings"): ("admin", "?user_id={person}", "bookings"),
    ("GET", f"{API}/admin/reservations"): ("admin", "?user_id={person}", "reservations"),
}
# Routes that name a person by id but are the caller's own business, with the reason.
NOT_A_READ = {
    ("DELETE", f"{API}/circle/members/<id:user_id>"): "removes someone from one's own circle",
    ("PATCH", f"{API}/admin/users/<id:user_id>"): "an admin change: in the admin audit log",
    ("DELETE", f"{API}/admin/users/<id:user_id>"): "an erasure: in the admin audit log",
}


def person_routes(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(f"{API}/"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            key = (method, rule.rule)
            if "<id:user_id>" in rule.rule or (key in MATRIX and MATRIX[key].kind == CAREGIVER):
                yield key


def test_every_read_path_of_someone_elses_data_is_listed(app):
    found = set(person_routes(app))
    missing = sorted(found - set(LOGGED) - set(NOT_A_READ))
    assert not missing, f"log these reads (record_access) and list them in LOGGED: {missing}"
    stale = sorted(
        key for key in LOGGED if key[1] not in {r.rule for r in app.url_map.iter_rules()}
    )
    assert not stale


@pytest.fixture
def people(db):
    person = factories.UserFactory(full_name="Ada Person")
    caregiver = factories.UserFactory(full_name="Cara Giver")
    viewer = factories.UserFactory(full_name="Vic Viewer")
    admin = factories.UserFactory(role="admin")
    factories.CircleMembershipFactory(person=person, member=caregiver, role="caregiver")
    factories.CircleMembershipFactory(person=person, member=viewer, role="viewer")
    now = utcnow()
    factories.ParkingEventFactory(user=person, parked_at=now - timedelta(hours=2))
    walking = factories.ParkingEventFactory(
        user=person,
        parked_at=now - timedelta(hours=1),
        status="retrieving",
        retrieval_started_at=now - timedelta(minutes=3),
    )
    alert = factories.AlertFactory(person_id=person.id, event_id=walking.id)
    factories.BookingFactory(user=person)
    factories.ReservationFactory(user=person)
    return {
        "person": person,
        "caregiver": caregiver,
        "viewer": viewer,
        "admin": admin,
        "alert": alert,
        "walking": walking,
    }


def access_log(client, auth, user, query=""):
    response = client.get(f"{API}/me/access-log{query}", headers=auth(user))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("key", sorted(LOGGED), ids=lambda k: f"{k[0]} {k[1]}")
def test_each_read_by_someone_else_is_in_the_persons_log(client, auth, people, key):
    method, rule = key
    reader_role, query, resource = LOGGED[key]
    person, reader = people["person"], people[reader_role]
    path = rule.replace("<id:user_id>", str(person.id)).replace(
        "<id:alert_id>", str(people["alert"].id)
    )
    before = utcnow()
    response = client.open(
        path + query.format(person=person.id), method=method, headers=auth(reader)
    )
    assert response.status_code == 200, (path, response.get_json())

    log = access_log(client, auth, person)
    assert log["total"] == 1
    [entry] = log["items"]
    assert entry["resource"] == resource
    assert entry["actor"] == {
        "id": reader.id,
        "username": reader.username,
        "full_name": reader.full_name,
        "role": reader_role,
    }
    assert entry["created_at"] >= before.isoformat()[:19]
    if resource in ("latest_parking_event", "live_retrieval"):
        assert entry["detail"]["event_id"] == response.get_json().get(
            "id", response.get_json().get("event_id")
        )
    # The reader's own log says nothing about what they read of someone else.
    assert access_log(client, auth, reader)["total"] == 0


def test_the_persons_own_reads_and_refused_reads_are_not_logged(client, auth, people):
    person, stranger = people["person"], factories.UserFactory()
    assert (
        client.get(
            f"{API}/people/{person.id}/scores/trend?period=week", headers=auth(person)
        ).status_code
        == 200
    )
    refused = client.get(
        f"{API}/people/{person.id}/parking-events/latest-active", headers=auth(stranger)
    )
    assert refused.status_code == 404
    # A viewer may see trends, not the car: refused, and nothing is recorded.
    assert (
        client.get(
            f"{API}/people/{person.id}/retrieval", headers=auth(people["viewer"])
        ).status_code
        == 404
    )
    assert access_log(client, auth, person)["total"] == 0


def test_the_log_is_the_persons_alone_newest_first_and_paginated(client, auth, people):
    person, caregiver = people["person"], people["caregiver"]
    headers = auth(caregiver)
    for _ in range(3):
        path = f"{API}/people/{person.id}/parking-events/latest-active"
        assert client.get(path, headers=headers).status_code == 200
    assert client.get(f"{API}/alerts/{people['alert'].id}", headers=headers).status_code == 200

    page = access_log(client, auth, person, "?per_page=2")
    latest = page["items"][1]["detail"]
    assert latest["photos"] == 0 and latest["event_id"] == people["walking"].id
    assert page["total"] == 4 and page["pages"] == 2
    assert [e["resource"] for e in page["items"]] == ["alert", "latest_parking_event"]
    assert page["items"][0]["detail"] == {"alert_id": people["alert"].id}
    # Nobody else reads or changes it: there is no route to do so.
    assert access_log(client, auth, caregiver)["total"] == 0
    for method in ("POST", "PATCH", "DELETE"):
        assert (
            client.open(f"{API}/me/access-log", method=method, headers=headers).status_code == 405
        )


def test_purge_job_keeps_a_year_and_is_idempotent(app, db, run_job, people):
    person, caregiver = people["person"], people["caregiver"]
    old = factories.AccessLogEntryFactory(
        person=person, actor=caregiver, created_at=utcnow() - timedelta(days=366)
    )
    recent = factories.AccessLogEntryFactory(
        person=person, actor=caregiver, created_at=utcnow() - timedelta(days=364)
    )
    old_id, recent_id = old.id, recent.id
    assert run_job("purge-access-log") == {"deleted": 1}
    assert run_job("purge-access-log") == {"deleted": 0}
    from app.privacy.models import AccessLogEntry

    db.session.expire_all()
    assert db.session.get(AccessLogEntry, old_id) is None
    assert db.session.get(AccessLogEntry, recent_id) is not None


def test_a_caregivers_look_at_the_car_records_the_photos_it_showed(client, auth, person):
    seen = client.get(
        f"{API}/people/{person.user.id}/parking-events/latest-active",
        headers=auth(person.caregiver),
    )
    assert seen.status_code == 200
    assert seen.get_json()["photo_url"] and seen.get_json()["landmarks"][0]["photo_url"]
    log = access_log(client, auth, person.user)
    entry = log["items"][0]  # newest first; the fixture's older read is the other
    assert log["total"] == 2 and entry["resource"] == "latest_parking_event"
    assert entry["detail"] == {"event_id": seen.get_json()["id"], "photos": 2}
    assert entry["actor"]["id"] == person.caregiver.id


@pytest.mark.parametrize("path", ["admin/bookings", "admin/reservations"])
def test_an_admin_filter_that_shows_nothing_records_nothing(client, auth, people, path):
    headers = auth(people["admin"])
    for user_id in (2147483646, people["viewer"].id):  # nobody; somebody with no history
        response = client.get(f"{API}/{path}?user_id={user_id}", headers=headers)
        assert response.status_code == 200 and response.get_json()["items"] == []
    assert access_log(client, auth, people["viewer"])["total"] == 0
