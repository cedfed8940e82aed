"""The care circle through the API: consent, revocation, expiry, audit and the access matrix."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.circle.models import CircleAudit, CircleMembership
from app.platform.models import utcnow
from tests.factories import (
    CircleMembershipFactory,
    LandmarkFactory,
    ParkingEventFactory,
    RetrievalScoreFactory,
    UserFactory,
)

API = "/api/v1"


def invite(client, headers, login, role="caregiver"):
    return client.post(
        f"{API}/circle/invitations", json={"login": login, "role": role}, headers=headers
    )


def latest(client, headers, person):
    return client.get(f"{API}/people/{person.id}/parking-events/latest-active", headers=headers)


def trend(client, headers, person):
    return client.get(f"{API}/people/{person.id}/scores/trend?period=week", headers=headers)


def audit_actions(db, person):
    return [
        (row.action, row.actor_id)
        for row in db.session.scalars(
            select(CircleAudit).where(CircleAudit.person_id == person.id).order_by(CircleAudit.id)
        )
    ]


@pytest.fixture
def person(db):
    return UserFactory(full_name="Ada Person")


@pytest.fixture
def event(person):
    event = ParkingEventFactory(user=person)
    LandmarkFactory(event=event, name="Blue door")
    return event


def test_invite_accept_grants_access_only_after_consent(client, auth, db, person, event):
    carer = UserFactory()
    person_h, carer_h = auth(person), auth(carer)

    response = invite(client, person_h, carer.username)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/invitations/{body['id']}")
    assert body["status"] == "pending"
    assert body["member"] == {
        "id": carer.id,
        "username": carer.username,
        "full_name": carer.full_name,
    }
    assert "email" not in body["member"]

    # Consent first: a pending invitation grants nothing.
    assert latest(client, carer_h, person).status_code == 404
    assert trend(client, carer_h, person).status_code == 404

    # The invitee was told, in the inbox, with the invitation id.
    inbox = client.get(f"{API}/notifications", headers=carer_h).get_json()
    assert [n["kind"] for n in inbox["items"]] == ["circle_invited"]
    assert inbox["items"][0]["data"]["invitation_id"] == body["id"]

    # Both directions are visible.
    assert [
        m["member"]["id"]
        for m in client.get(f"{API}/circle", headers=person_h).get_json()["members"]
    ] == [carer.id]
    mine = client.get(f"{API}/circle", headers=carer_h).get_json()
    assert [m["person"]["id"] for m in mine["caring_for"]] == [person.id]
    assert mine["members"] == []

    # The person cannot accept on the invitee's behalf.
    assert (
        client.post(f"{API}/invitations/{body['id']}/accept", headers=person_h).status_code == 404
    )
    accepted = client.post(f"{API}/invitations/{body['id']}/accept", headers=carer_h)
    assert accepted.status_code == 200
    assert accepted.get_json()["status"] == "accepted"

    seen = latest(client, carer_h, person)
    assert seen.status_code == 200
    assert seen.get_json()["id"] == event.id
    assert [lm["name"] for lm in seen.get_json()["landmarks"]] == ["Blue door"]
    assert "photo_url" in seen.get_json()
    assert trend(client, carer_h, person).status_code == 200

    # Answering twice is a conflict.
    again = client.post(f"{API}/invitations/{body['id']}/decline", headers=carer_h)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "invalid_transition"

    # The person was told the answer.
    kinds = [
        n["kind"] for n in client.get(f"{API}/notifications", headers=person_h).get_json()["items"]
    ]
    assert kinds == ["circle_accepted"]
    assert audit_actions(db, person) == [("invited", person.id), ("accepted", carer.id)]


def test_invite_by_email_as_viewer_sees_trend_but_not_the_car(client, auth, person, event):
    viewer = UserFactory()
    response = invite(client, auth(person), viewer.email.upper(), role="viewer")
    assert response.status_code == 201
    viewer_h = auth(viewer)
    assert (
        client.post(
            f"{API}/invitations/{response.get_json()['id']}/accept", headers=viewer_h
        ).status_code
        == 200
    )
    assert trend(client, viewer_h, person).status_code == 200
    assert latest(client, viewer_h, person).status_code == 404


def test_declined_invitation_grants_nothing(client, auth, db, person, event):
    carer = UserFactory()
    invitation = invite(client, auth(person), carer.username).get_json()
    carer_h = auth(carer)
    declined = client.post(f"{API}/invitations/{invitation['id']}/decline", headers=carer_h)
    assert declined.status_code == 200
    assert declined.get_json()["status"] == "declined"
    assert latest(client, carer_h, person).status_code == 404
    assert trend(client, carer_h, person).status_code == 404
    assert (
        client.post(f"{API}/invitations/{invitation['id']}/accept", headers=carer_h).status_code
        == 409
    )
    assert latest(client, carer_h, person).status_code == 404
    # The pair is free again: the person may invite once more.
    assert invite(client, auth(person), carer.username).status_code == 201
    assert [a for a, _ in audit_actions(db, person)] == ["invited", "declined", "invited"]


def test_expired_invitation_grants_nothing(client, auth, db, person, event):
    carer = UserFactory()
    invitation = invite(client, auth(person), carer.username).get_json()
    carer_h = auth(carer)
    # Seven days later (moved in the database: access tokens would expire under a time jump).
    stale = db.session.get(CircleMembership, invitation["id"])
    stale.invited_at -= timedelta(days=7, seconds=1)
    stale.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.post(f"{API}/invitations/{invitation['id']}/accept", headers=carer_h)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "invitation_expired"
    assert latest(client, carer_h, person).status_code == 404
    assert trend(client, carer_h, person).status_code == 404
    assert client.get(f"{API}/circle", headers=carer_h).get_json()["caring_for"] == []
    again = client.post(f"{API}/invitations/{invitation['id']}/accept", headers=carer_h)
    assert again.get_json()["error"]["code"] == "invitation_expired"
    # The expire-invitations job records the expiry, audits it and tells the person.
    from app.circle.jobs import expire_invitations
    from app.platform.queue import send_ready_tasks

    assert expire_invitations() == {"expired": 1}
    db.session.commit()
    send_ready_tasks()
    db.session.refresh(stale)
    assert stale.status == "expired"
    assert stale.open_key is None
    assert audit_actions(db, person) == [("invited", person.id), ("expired", person.id)]
    after = client.post(f"{API}/invitations/{invitation['id']}/accept", headers=carer_h)
    assert after.get_json()["error"]["code"] == "invitation_expired"
    assert latest(client, carer_h, person).status_code == 404
    kinds = [
        n["kind"]
        for n in client.get(f"{API}/notifications", headers=auth(person)).get_json()["items"]
    ]
    assert kinds == ["circle_expired"]


def test_revoke_takes_effect_on_the_next_request(client, auth, db, person, event):
    carer = UserFactory()
    CircleMembershipFactory(person=person, member=carer)
    carer_h, person_h = auth(carer), auth(person)
    assert latest(client, carer_h, person).status_code == 200

    assert client.delete(f"{API}/circle/members/{carer.id}", headers=person_h).status_code == 204
    assert latest(client, carer_h, person).status_code == 404
    assert trend(client, carer_h, person).status_code == 404
    assert client.get(f"{API}/circle", headers=person_h).get_json()["members"] == []
    assert audit_actions(db, person) == [("revoked", person.id)]
    kinds = [
        n["kind"] for n in client.get(f"{API}/notifications", headers=carer_h).get_json()["items"]
    ]
    assert kinds == ["circle_revoked"]
    assert client.delete(f"{API}/circle/members/{carer.id}", headers=person_h).status_code == 404


def test_leave_takes_effect_on_the_next_request(client, auth, db, person, event):
    carer = UserFactory()
    CircleMembershipFactory(person=person, member=carer)
    carer_h = auth(carer)
    assert latest(client, carer_h, person).status_code == 200
    assert client.delete(f"{API}/circle/members/{person.id}", headers=carer_h).status_code == 204
    assert latest(client, carer_h, person).status_code == 404
    assert audit_actions(db, person) == [("left", carer.id)]
    kinds = [
        n["kind"]
        for n in client.get(f"{API}/notifications", headers=auth(person)).get_json()["items"]
    ]
    assert kinds == ["circle_left"]


def test_invitation_rules(client, auth, person):
    person_h = auth(person)
    myself = invite(client, person_h, person.username)
    assert myself.status_code == 422
    assert "login" in myself.get_json()["error"]["fields"]

    unknown = invite(client, person_h, "nobody-like-this")
    assert unknown.status_code == 404
    assert unknown.get_json()["error"]["code"] == "user_not_found"

    assert invite(client, person_h, "x", role="boss").status_code == 422
    strict = client.post(
        f"{API}/circle/invitations",
        json={"login": "x", "role": "viewer", "admin": True},
        headers=person_h,
    )
    assert strict.status_code == 422

    other = UserFactory()
    assert invite(client, person_h, other.username).status_code == 201
    twice = invite(client, person_h, other.username, role="viewer")
    assert twice.status_code == 409
    assert twice.get_json()["error"]["code"] == "invitation_pending"


def test_person_withdraws_a_pending_invitation(client, auth, person):
    carer = UserFactory()
    invitation = invite(client, auth(person), carer.username).get_json()
    assert (
        client.delete(f"{API}/circle/members/{carer.id}", headers=auth(person)).status_code == 204
    )
    response = client.post(f"{API}/invitations/{invitation['id']}/accept", headers=auth(carer))
    assert response.status_code == 409
    assert latest(client, auth(carer), person).status_code == 404


def test_huge_ids_are_not_found(client, auth, person):
    h = auth(person)
    huge = 2**63
    assert client.get(f"{API}/invitations/{huge}", headers=h).status_code == 404
    assert client.post(f"{API}/invitations/{huge}/accept", headers=h).status_code == 404
    assert client.delete(f"{API}/circle/members/{huge}", headers=h).status_code == 404
    assert client.get(f"{API}/people/{huge}/scores/trend", headers=h).status_code == 404
    assert client.post(f"{API}/notifications/{huge}/read", headers=h).status_code == 404


# The access matrix ----------------------------------------------------------------------------

# Every route of the circle and inbox, and what each kind of caller gets. "person" is the person
# whose circle it is (and the person the /people routes are about), "caregiver" and "viewer" are
# accepted members, "stranger" is any other user, "anonymous" sends no token.
MATRIX = {
    ("GET", "/circle"): {
        "person": 200,
        "caregiver": 200,
        "viewer": 200,
        "stranger": 200,
        "anonymous": 401,
    },
    ("POST", "/circle/invitations"): {
        "person": 201,
        "caregiver": 201,
        "viewer": 201,
        "stranger": 201,
        "anonymous": 401,
    },
    ("GET", "/invitations/{invitation}"): {
        "person": 200,
        "caregiver": 200,
        "viewer": 404,
        "stranger": 404,
        "anonymous": 401,
    },
    ("POST", "/invitations/{invitation}/accept"): {
        "person": 404,
        "caregiver": 200,
        "viewer": 404,
        "stranger": 404,
        "anonymous": 401,
    },
    ("POST", "/invitations/{invitation}/decline"): {
        "person": 404,
        "caregiver": 200,
        "viewer": 404,
        "stranger": 404,
        "anonymous": 401,
    },
    ("DELETE", "/circle/members/{member}"): {
        "person": 204,
        "caregiver": 204,
        "viewer": 404,
        "stranger": 404,
        "anonymous": 401,
    },
    # The person's car is parked, nobody walks back: no live view for anyone (test_live.py
    # covers a walk in progress).
    ("GET", "/people/{person}/retrieval"): {
        "person": 404,
        "caregiver": 404,
        "viewer": 404,
        "stranger": 404,
        "anonymous": 401,
    },
    ("GET", "/people/{person}/parking-events/latest-active"): {
        "person": 200,
        "caregiver": 200,
        "viewer": 404,
        "stranger": 404,
        "anonymous": 401,
    },
    ("GET", "/people/{person}/scores/trend"): {
        "person": 200,
        "caregiver": 200,
        "viewer": 200,
        "stranger": 404,
        "anonymous": 401,
    },
    ("GET", "/notifications"): {
        "person": 200,
        "caregiver": 200,
        "viewer": 200,
        "stranger": 200,
        "anonymous": 401,
    },
    ("POST", "/notifications/{notification}/read"): {
        "person": 200,
        "caregiver": 404,
        "viewer": 404,
        "stranger": 404,
        "anonymous": 401,
    },
    ("POST", "/notifications/read-all"): {
        "person": 204,
        "caregiver": 204,
        "viewer": 204,
        "stranger": 204,
        "anonymous": 401,
    },
}
CALLERS = ("person", "caregiver", "viewer", "stranger", "anonymous")


@pytest.mark.parametrize("route", list(MATRIX), ids=lambda r: f"{r[0]} {r[1]}")
@pytest.mark.parametrize("caller", CALLERS)
def test_access_matrix(client, auth, db, route, caller):
    from tests.factories import NotificationFactory

    person = UserFactory()
    users = {
        "person": person,
        "caregiver": UserFactory(),
        "viewer": UserFactory(),
        "stranger": UserFactory(),
    }
    ParkingEventFactory(user=person)
    RetrievalScoreFactory(event=ParkingEventFactory(user=person, status="retrieved"))
    CircleMembershipFactory(person=person, member=users["viewer"], role="viewer")
    # For invitation routes the caregiver is the invitee of a pending invitation; elsewhere an
    # accepted caregiver.
    method, template = route
    if "{invitation}" in template:
        membership = CircleMembershipFactory(
            person=person, member=users["caregiver"], status="pending", responded_at=None
        )
    else:
        membership = CircleMembershipFactory(person=person, member=users["caregiver"])
    notification = NotificationFactory(user=person)
    invitee = UserFactory()
    # DELETE /circle/members/{member}: the person removes the caregiver, the caregiver leaves the
    # person; viewer and stranger name someone in no circle of theirs (the caregiver, the person).
    member_target = {
        "person": users["caregiver"].id,
        "caregiver": person.id,
        "viewer": users["caregiver"].id,
        "stranger": person.id,
        "anonymous": person.id,
    }[caller]
    path = template.format(
        invitation=membership.id,
        member=member_target,
        person=person.id,
        notification=notification.id,
    )
    headers = auth(users[caller]) if caller != "anonymous" else {}
    body = (
        {"login": invitee.username, "role": "viewer"}
        if method == "POST" and "circle/invitations" in path
        else None
    )
    response = client.open(f"{API}{path}", method=method, json=body, headers=headers)
    assert response.status_code == MATRIX[route][caller], response.get_json()


def test_access_matrix_covers_every_route(app):
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in ("circle", "notifications"):
            continue
        path = rule.rule.removeprefix(API)
        if path.startswith(("/parking-events/", "/alerts")):
            continue  # the own walk and alerts: test_live.py, test_alert_life.py, hardening
        for name in ("invitation_id", "user_id", "notification_id"):
            path = path.replace(f"<id:{name}>", "{}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method, path))
    covered = set()
    for method, template in MATRIX:
        import re

        covered.add((method, re.sub(r"\{\w+\}", "{}", template)))
    assert routes == covered


def test_no_access_lookup_reveals_whether_a_person_exists(client, auth, person):
    stranger_h = auth(UserFactory())
    missing = client.get(f"{API}/people/999999/scores/trend", headers=stranger_h)
    existing = client.get(f"{API}/people/{person.id}/scores/trend", headers=stranger_h)
    assert missing.status_code == existing.status_code == 404
    assert missing.get_json()["error"]["code"] == existing.get_json()["error"]["code"]
