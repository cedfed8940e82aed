"""Tried as a caregiver would, with a phone subscribed to Web Push, on real processes: a private
Redis broker, a real Celery worker, and a push service on loopback that checks every VAPID
signature and decrypts every message. An SOS reaches the caregiver's phone within seconds, the
caregiver follows the walk, the person's phone hears that help is coming, and everyone hears when
it is over."""

from __future__ import annotations

import time
import uuid

from tests.conftest import require
from tests.support.processes import start_celery_worker, stop_group, wait_until
from tests.support.push_service import PushService
from tests.system.test_faults import API, export_stack


def _people(api) -> dict:
    from app.platform.extensions import db
    from tests.factories import CircleMembershipFactory, ParkingEventFactory, UserFactory

    with api.app_context():
        person = UserFactory(full_name="Ada Person")
        carer = UserFactory(full_name="Sam Carer")
        CircleMembershipFactory(person=person, member=carer)
        event = ParkingEventFactory(user=person, latitude=48.8584, longitude=2.2945)
        db.session.commit()
        return {
            "person": person.username,
            "carer": carer.username,
            "event": event.id,
            "person_id": person.id,
        }


def test_an_sos_reaches_the_caregivers_phone_in_seconds_and_the_story_ends_for_everyone(
    tmp_path, smtp
):
    from tests.factories import PASSWORD

    require("redis")
    with export_stack(tmp_path, smtp) as (api, _broker, worker_env, _storage):
        worker_env = {**worker_env, "VAPID_PRIVATE_KEY": api.config["VAPID_PRIVATE_KEY"]}
        people = _people(api)
        client = api.test_client()

        def login(username: str) -> dict:
            token = client.post(
                f"{API}/auth/login", json={"login": username, "password": PASSWORD}
            ).get_json()["access_token"]
            return {"Authorization": f"Bearer {token}"}

        person, carer = login(people["person"]), login(people["carer"])
        key = client.get(f"{API}/push/vapid-public-key").get_json()["key"]
        worker_log = tmp_path / "worker.log"
        worker = start_celery_worker(worker_env, worker_log, f"push-{uuid.uuid4().hex[:6]}")
        try:
            with PushService(application_server_key=key) as phones:
                for headers, name in ((carer, "sam-phone"), (person, "ada-phone")):
                    body = {"kind": "webpush", "subscription": phones.browser(name).subscription()}
                    assert (
                        client.post(f"{API}/me/devices", json=body, headers=headers).status_code
                        == 201
                    )

                walk = f"{API}/parking-events/{people['event']}"
                assert (
                    client.post(
                        f"{walk}/retrieval/start",
                        json={"latitude": 48.861, "longitude": 2.2945},
                        headers=person,
                    ).status_code
                    == 200
                )
                pressed = time.monotonic()
                sos = client.post(f"{walk}/assist", json={"level": 5}, headers=person).get_json()
                wait_until(
                    lambda: phones.to("sam-phone"),
                    30,
                    interval=0.05,
                    message=lambda: f"no push:\n{phones.refused}\n{worker_log.read_text()[-3000:]}",
                )
                reached = time.monotonic() - pressed
                [alarm] = phones.to("sam-phone")
                assert alarm["urgency"] == "high"
                assert alarm["message"]["kind"] == "assist_level_5"
                assert "Ada Person" in alarm["message"]["title"]
                assert reached < 10, f"the SOS took {reached:.1f}s to reach the phone"

                live = client.get(f"{API}/people/{people['person_id']}/retrieval", headers=carer)
                assert live.status_code == 200
                assert [a["kind"] for a in live.get_json()["open_alerts"]] == ["sos"]

                answered = client.post(
                    f"{API}/alerts/{sos['alert_id']}/acknowledge",
                    json={"eta_minutes": 10},
                    headers=carer,
                )
                assert answered.status_code == 200
                wait_until(
                    lambda: phones.to("ada-phone"),
                    30,
                    interval=0.05,
                    message=lambda: (
                        f"no push to the person:\n{phones.refused}\n"
                        f"{worker_log.read_text()[-6000:]}"
                    ),
                )
                [help_coming] = phones.to("ada-phone")
                assert help_coming["message"]["title"] == "Sam Carer is coming, about 10 minutes"

                assert (
                    client.post(
                        f"{walk}/retrieval/complete", json={"found": True}, headers=person
                    ).status_code
                    == 200
                )
                wait_until(
                    lambda: len(phones.to("sam-phone")) >= 2,
                    30,
                    interval=0.05,
                    message=lambda: (
                        f"no second push:\n{phones.refused}\n{worker_log.read_text()[-6000:]}"
                    ),
                )
                time.sleep(1.0)  # a duplicate, if any, would arrive now
                assert [m["message"]["kind"] for m in phones.to("sam-phone")] == [
                    "assist_level_5",
                    "alert_resolved",
                ]
                assert phones.to("sam-phone")[1]["message"]["title"] == "Ada Person found the car"
                assert len(phones.to("ada-phone")) == 1
                assert phones.refused == []
        finally:
            stop_group(worker)
        print(f"SOS pushed to the caregiver's phone {reached:.2f}s after it was pressed")
