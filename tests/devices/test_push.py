"""Devices and Web Push, end to end against a push service on loopback that checks the VAPID
signature and decrypts every message (tests/support/push_service.py)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.devices.models import Device
from app.notifications.models import Notification
from app.platform.models import OutboundMessage
from app.platform.queue import send_ready_tasks
from tests.factories import CircleMembershipFactory, ParkingEventFactory, UserFactory
from tests.support.push_service import PushService, unb64url

API = "/api/v1"


@pytest.fixture
def mailing_app(app, mail_config, monkeypatch):
    for key, value in mail_config.items():
        monkeypatch.setitem(app.config, key, value)
    return app


@pytest.fixture
def push_service(client):
    key = client.get(f"{API}/push/vapid-public-key")
    assert key.status_code == 200, key.get_json()
    with PushService(application_server_key=key.get_json()["key"]) as service:
        yield service


def register(client, headers, browser, name: str | None = None):
    body = {"kind": "webpush", "subscription": browser.subscription()}
    if name:
        body["name"] = name
    return client.post(f"{API}/me/devices", json=body, headers=headers)


def test_the_vapid_key_is_a_p256_point_and_stays_the_same(client):
    first = client.get(f"{API}/push/vapid-public-key").get_json()["key"]
    raw = unb64url(first)
    assert len(raw) == 65 and raw[0] == 4
    assert client.get(f"{API}/push/vapid-public-key").get_json()["key"] == first


def test_without_a_vapid_key_web_push_says_it_is_unavailable(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "VAPID_PRIVATE_KEY", None)
    response = client.get(f"{API}/push/vapid-public-key")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "push_unavailable"


def test_a_device_is_registered_once_listed_and_removed(client, auth, db, push_service):
    user = UserFactory()
    headers = auth(user)
    browser = push_service.browser("phone")
    first = register(client, headers, browser, name="Ada's phone")
    assert first.status_code == 201, first.get_json()
    device = first.get_json()
    assert first.headers["Location"].endswith(f"/me/devices/{device['id']}")
    assert (device["kind"], device["name"], device["endpoint"]) == (
        "webpush",
        "Ada's phone",
        browser.endpoint,
    )
    assert "p256dh" not in device and "auth" not in device
    again = register(client, headers, browser)
    assert (again.status_code, again.get_json()["id"]) == (200, device["id"])
    native = client.post(
        f"{API}/me/devices", json={"kind": "apns", "token": "a" * 64}, headers=headers
    )
    assert native.status_code == 201
    listed = client.get(f"{API}/me/devices", headers=headers).get_json()
    assert [d["kind"] for d in listed] == ["webpush", "apns"]
    assert client.delete(f"{API}/me/devices/{device['id']}", headers=headers).status_code == 204
    assert [d["kind"] for d in client.get(f"{API}/me/devices", headers=headers).get_json()] == [
        "apns"
    ]

    # The same browser signed in as someone else is theirs now: pushes follow the person.
    other = UserFactory()
    moved = register(client, auth(other), browser)
    taken = register(client, auth(user), browser)
    assert moved.status_code == 201 and taken.status_code == 201
    assert (
        db.session.scalar(select(func.count(Device.id)).where(Device.endpoint == browser.endpoint))
        == 1
    )


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "webpush"}, "subscription"),
        ({"kind": "fcm"}, "token"),
        ({"kind": "fcm", "token": "x" * 20, "subscription": None}, "subscription"),
        ({"kind": "sms", "token": "x" * 20}, "kind"),
        (
            {
                "kind": "webpush",
                "subscription": {
                    "endpoint": "https://push.example/x",
                    "keys": {"p256dh": "A" * 87, "auth": "short"},
                },
            },
            "subscription",
        ),
        (
            {
                "kind": "webpush",
                "subscription": {
                    "endpoint": "https://push.example/x",
                    "keys": {"p256dh": "A" * 88, "auth": "A" * 22},
                },
            },
            "subscription",
        ),
    ],
)
def test_a_malformed_device_is_refused_with_the_field_named(client, auth, body, field):
    response = client.post(f"{API}/me/devices", json=body, headers=auth(UserFactory()))
    assert response.status_code == 422, response.get_json()
    assert any(name.split(".")[0] == field for name in response.get_json()["error"]["fields"])


def test_a_plain_http_push_endpoint_is_refused_in_production(
    client, auth, app, monkeypatch, push_service
):
    monkeypatch.setitem(app.config, "WEBPUSH_ALLOW_HTTP", False)
    response = register(client, auth(UserFactory()), push_service.browser("x"))
    assert response.status_code == 422
    assert any("endpoint" in name for name in response.get_json()["error"]["fields"])


def _sos_circle(client, auth, push_service):
    person = UserFactory(full_name="Ada Person")
    carers = [UserFactory(), UserFactory()]
    viewer = UserFactory()
    for carer in carers:
        CircleMembershipFactory(person=person, member=carer)
    CircleMembershipFactory(person=person, member=viewer, role="viewer")
    browsers = {
        "carer0-phone": (carers[0], push_service.browser("carer0-phone")),
        "carer0-laptop": (carers[0], push_service.browser("carer0-laptop")),
        "carer1-phone": (carers[1], push_service.browser("carer1-phone")),
        "viewer-phone": (viewer, push_service.browser("viewer-phone")),
        "person-phone": (person, push_service.browser("person-phone")),
    }
    for owner, browser in browsers.values():
        assert register(client, auth(owner), browser).status_code == 201
    return person, carers, viewer


def test_an_sos_reaches_every_caregiver_device_once_by_push_mail_and_inbox(
    client, auth, db, mailing_app, smtp, push_service
):
    from app.circle.tasks import deliver_assist_alert
    from app.devices.tasks import push_notification

    person, carers, _viewer = _sos_circle(client, auth, push_service)
    event = ParkingEventFactory(user=person)
    sos = client.post(
        f"{API}/parking-events/{event.id}/assist", json={"level": 5}, headers=auth(person)
    )
    assert sos.status_code == 200 and sos.get_json()["care_circle_alerted"] is True

    pushed = push_service.wait_for(3, timeout=10)
    assert push_service.refused == []
    assert sorted(p["browser"] for p in pushed) == [
        "carer0-laptop",
        "carer0-phone",
        "carer1-phone",
    ]
    for delivery in pushed:
        assert delivery["urgency"] == "high"
        message = delivery["message"]
        assert message["kind"] == "assist_level_5"
        assert "Ada Person" in message["title"] + message["body"]
        assert message["data"]["assist_id"] == sos.get_json()["assist_id"]
    assert sorted(m["To"] for m in smtp.wait_for(2, timeout=5)) == sorted(c.email for c in carers)
    inbox = db.session.scalars(
        select(Notification.user_id).where(Notification.kind == "assist_level_5")
    ).all()
    assert sorted(inbox) == sorted(c.id for c in carers)

    # The delivery task and the push task run again (a redelivered message): nothing repeats.
    deliver_assist_alert.run(sos.get_json()["assist_id"])
    db.session.commit()
    send_ready_tasks()
    for notification_id in db.session.scalars(
        select(Notification.id).where(Notification.kind == "assist_level_5")
    ):
        assert push_notification.run(notification_id, True) == 0
    assert len(push_service.received) == 3
    assert len(smtp.messages) == 2
    assert (
        db.session.scalar(
            select(func.count(OutboundMessage.id)).where(OutboundMessage.channel == "push")
        )
        == 3
    )


def test_push_and_mail_follow_preferences_but_an_sos_ignores_them(
    client, auth, db, mailing_app, smtp, push_service
):
    person, carers, _viewer = _sos_circle(client, auth, push_service)
    quiet = carers[1]
    response = client.patch(
        f"{API}/me",
        json={"preferences": {"notify": {"push": False, "email": False}}},
        headers=auth(quiet),
    )
    assert response.status_code == 200, response.get_json()
    event = ParkingEventFactory(user=person)
    call_me = client.post(
        f"{API}/parking-events/{event.id}/assist", json={"level": 4}, headers=auth(person)
    )
    assert call_me.status_code == 200
    pushed = push_service.wait_for(2, timeout=10)
    assert sorted(p["browser"] for p in pushed) == ["carer0-laptop", "carer0-phone"]
    assert [m["To"] for m in smtp.wait_for(1, timeout=5)] == [carers[0].email]
    assert all(p["urgency"] == "normal" for p in pushed)

    sos = client.post(
        f"{API}/parking-events/{event.id}/assist", json={"level": 5}, headers=auth(person)
    )
    assert sos.status_code == 200
    push_service.wait_for(5, timeout=10)
    assert len(push_service.to("carer1-phone")) == 1
    assert push_service.to("carer1-phone")[0]["message"]["kind"] == "assist_level_5"
    smtp.wait_for(3, timeout=5)
    assert len(smtp.to(quiet.email)) == 1


def test_a_device_its_push_service_has_forgotten_is_removed(
    client, auth, db, mailing_app, smtp, push_service
):
    person, carers, _viewer = _sos_circle(client, auth, push_service)
    push_service.gone.add("carer0-laptop")
    event = ParkingEventFactory(user=person)
    assert (
        client.post(
            f"{API}/parking-events/{event.id}/assist", json={"level": 5}, headers=auth(person)
        ).status_code
        == 200
    )
    pushed = push_service.wait_for(2, timeout=10)
    assert sorted(p["browser"] for p in pushed) == ["carer0-phone", "carer1-phone"]
    names = [
        d["endpoint"].rsplit("/", 1)[-1]
        for d in client.get(f"{API}/me/devices", headers=auth(carers[0])).get_json()
    ]
    assert names == ["carer0-phone"]


# --- native apps through FCM (HTTP v1) ---------------------------------------------------------


def _native_sos(client, auth, kind: str, token: str, gone_token: str, gone: set[str]):
    """Two caregivers with a native device each (the second one's app uninstalled), and the
    person's SOS: the second caregiver and the SOS answer."""
    person, carer, carer_two = UserFactory(full_name="Ada Person"), UserFactory(), UserFactory()
    for member in (carer, carer_two):
        CircleMembershipFactory(person=person, member=member)
    for member, device_token in ((carer, token), (carer_two, gone_token)):
        added = client.post(
            f"{API}/me/devices", json={"kind": kind, "token": device_token}, headers=auth(member)
        )
        assert added.status_code == 201
    gone.add(gone_token)
    event = ParkingEventFactory(user=person)
    sos = client.post(
        f"{API}/parking-events/{event.id}/assist", json={"level": 5}, headers=auth(person)
    )
    assert sos.status_code == 200
    return carer_two, sos


@pytest.fixture
def fcm(app, tmp_path, monkeypatch):
    from app.platform import push
    from tests.support.fcm_service import FcmService

    with FcmService(tmp_path) as service:
        monkeypatch.setitem(app.config, "FCM_CREDENTIALS_FILE", str(service.write_credentials()))
        monkeypatch.setitem(app.config, "FCM_ENDPOINT", service.origin)
        push._service_account.cache_clear()
        push._FCM_TOKENS.clear()
        yield service
        push._service_account.cache_clear()
        push._FCM_TOKENS.clear()


def test_an_sos_reaches_an_android_phone_through_fcm(client, auth, db, mailing_app, smtp, fcm):
    carer_two, sos = _native_sos(
        client, auth, "fcm", "android-token-sam", "android-token-kim", fcm.gone
    )
    assert fcm.refused == []
    [message] = fcm.received
    assert message["token"] == "android-token-sam"
    assert message["android"]["priority"] == "HIGH"
    assert "Ada Person" in message["notification"]["title"]
    inner = json.loads(message["data"]["parkmind"])
    assert inner["kind"] == "assist_level_5"
    assert inner["data"]["assist_id"] == sos.get_json()["assist_id"]
    # The uninstalled app's token is gone; one OAuth token served both sends.
    assert client.get(f"{API}/me/devices", headers=auth(carer_two)).get_json() == []
    assert len(fcm.tokens_issued) == 1


# --- iPhones through APNs (token-based, HTTP/2) ---------------------------------------------------


@pytest.fixture
def apns(app, tmp_path, monkeypatch):
    from app.platform import push
    from tests.support import apns_service

    with apns_service.ApnsService(tmp_path) as service:
        settings = {
            "APNS_KEY_FILE": str(service.write_key()),
            "APNS_KEY_ID": apns_service.KEY_ID,
            "APNS_TEAM_ID": apns_service.TEAM_ID,
            "APNS_TOPIC": apns_service.TOPIC,
            "APNS_ENDPOINT": service.origin,
        }
        for key, value in settings.items():
            monkeypatch.setitem(app.config, key, value)
        for cached in (push._apns_key, push._apns_client):
            cached.cache_clear()
        push._APNS_TOKENS.clear()
        yield service
        push._apns_client.cache_clear()
        push._APNS_TOKENS.clear()


def test_an_sos_reaches_an_iphone_through_apns(client, auth, db, mailing_app, smtp, apns):
    carer_two, sos = _native_sos(client, auth, "apns", "a1" * 32, "b2" * 32, apns.gone)
    assert apns.refused == []
    [message] = apns.received
    assert (message["device"], message["priority"]) == ("a1" * 32, "10")
    assert message["body"]["aps"]["interruption-level"] == "time-sensitive"
    assert "Ada Person" in message["body"]["aps"]["alert"]["title"]
    assert message["body"]["parkmind"]["data"]["assist_id"] == sos.get_json()["assist_id"]
    assert client.get(f"{API}/me/devices", headers=auth(carer_two)).get_json() == []


def test_native_devices_without_credentials_are_skipped_not_failed(
    client, auth, db, mailing_app, smtp
):
    """No FCM or APNs credentials (the development default): the SOS still goes out by e-mail
    and in-app, and the native devices stay registered for when push is configured."""
    person, carer = UserFactory(), UserFactory()
    CircleMembershipFactory(person=person, member=carer)
    for body in ({"kind": "fcm", "token": "fcm-token-xyz1"}, {"kind": "apns", "token": "c3" * 32}):
        assert client.post(f"{API}/me/devices", json=body, headers=auth(carer)).status_code == 201
    event = ParkingEventFactory(user=person)
    assert (
        client.post(
            f"{API}/parking-events/{event.id}/assist", json={"level": 5}, headers=auth(person)
        ).status_code
        == 200
    )
    assert [m["To"] for m in smtp.wait_for(1, timeout=5)] == [carer.email]
    assert len(client.get(f"{API}/me/devices", headers=auth(carer)).get_json()) == 2
