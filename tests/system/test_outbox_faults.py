"""Promises under a broker outage, with real processes: a private Redis broker that is stopped
and started again, and a real Celery worker."""

from __future__ import annotations

import os
import signal
import time
import uuid
from datetime import timedelta

from tests.conftest import require
from tests.support.processes import start_celery_worker, stop_group, wait_until
from tests.system.test_faults import API, _run_job, export_stack

RELAYED = {"sent": 1, "retrying": 0, "given_up": 0, "lost": 0}
NOTHING_DUE = {"sent": 0, "retrying": 0, "given_up": 0, "lost": 0}


def _person_with_caregiver(api) -> dict:
    from app.platform.extensions import db
    from tests.factories import CircleMembershipFactory, ParkingEventFactory, UserFactory

    with api.app_context():
        person, carer = UserFactory(full_name="Ada Person"), UserFactory()
        CircleMembershipFactory(person=person, member=carer)
        event = ParkingEventFactory(user=person)
        db.session.commit()
        return {
            "username": person.username,
            "carer_id": carer.id,
            "carer_email": carer.email,
            "event_id": event.id,
        }


def _signed_in_person(api):
    """A person with a caregiver and a parking event, this app's test client, and the person's
    access token."""
    from tests.factories import PASSWORD

    people = _person_with_caregiver(api)
    client = api.test_client()
    token = client.post(
        f"{API}/auth/login", json={"login": people["username"], "password": PASSWORD}
    ).get_json()["access_token"]
    return people, client, token


def _rows(api, *columns) -> list[tuple]:
    """The committed rows of ``columns`` (of one table), read in a transaction of its own."""
    from sqlalchemy import select

    from app.platform.extensions import db

    with api.app_context():
        rows = db.session.execute(select(*columns)).all()
        db.session.rollback()
        return [tuple(row) for row in rows]


def _outbox(api) -> list[tuple[str, str, int]]:
    from app.platform.models import OutboxMessage

    return _rows(api, OutboxMessage.task, OutboxMessage.status, OutboxMessage.attempts)


def _make_due(api) -> None:
    """Move every pending row's next attempt into the past (the backoff has run out)."""
    from sqlalchemy import update

    from app.platform.extensions import db
    from app.platform.models import OutboxMessage, utcnow

    with api.app_context():
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "pending")
            .values(due_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def _sos_alerts(api, carer_id: int) -> int:
    from sqlalchemy import func, select

    from app.notifications.models import Notification
    from app.platform.extensions import db

    with api.app_context():
        count = db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == carer_id, Notification.kind == "assist_level_5"
            )
        )
        db.session.rollback()
        return int(count or 0)


def test_sos_while_the_broker_is_down_reaches_the_caregiver_once_it_returns(tmp_path, smtp):
    """SOS with Redis down: 200 ``care_circle_alerted``; the alert waits in the outbox and, once
    the broker is back, the relay job sends it: one in-app alert and one e-mail."""

    require("redis")
    with export_stack(tmp_path, smtp) as (api, broker, worker_env, _storage):
        people, client, token = _signed_in_person(api)
        headers = {"Authorization": f"Bearer {token}"}

        broker.stop()
        started = time.monotonic()
        response = client.post(
            f"{API}/parking-events/{people['event_id']}/assist",
            json={"level": 5, "latitude": 48.86, "longitude": 2.29},
            headers=headers,
        )
        took = time.monotonic() - started
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["care_circle_alerted"] is True
        assert took < 15, f"SOS took {took:.1f}s on a dead broker"
        assert _outbox(api) == [("circle.deliver_assist_alert", "pending", 1)]

        broker.start()
        worker_log = tmp_path / "worker.log"
        worker = start_celery_worker(worker_env, worker_log, f"sos-{uuid.uuid4().hex[:6]}")
        try:
            _make_due(api)
            assert _run_job(api, "relay-outbox") == RELAYED
            wait_until(
                lambda: _sos_alerts(api, people["carer_id"]) == 1,
                60,
                interval=0.3,
                message=lambda: f"the SOS never arrived:\n{worker_log.read_text()[-3000:]}",
            )
            messages = smtp.wait_for(1, timeout=30)
            assert _run_job(api, "relay-outbox") == NOTHING_DUE
            time.sleep(1.0)  # a duplicate, if any, would arrive now
        finally:
            stop_group(worker)

        assert _sos_alerts(api, people["carer_id"]) == 1
        assert [m["To"] for m in messages] == [people["carer_email"]]
        assert "SOS" in messages[0]["Subject"]
        assert _outbox(api) == []  # the task reported back: nothing in flight


def _time_passes(api) -> None:
    """Move past the in-flight task's deadline and its e-mail claim's lease (minutes, in
    production): what the relay job and the next attempt would see by then."""
    from sqlalchemy import update

    from app.platform.extensions import db
    from app.platform.models import OutboundMessage, OutboxMessage, utcnow

    with api.app_context():
        past = utcnow() - api.config["MAIL_CLAIM_LEASE"] - timedelta(seconds=1)
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status.in_(("pending", "sent")))
            .values(due_at=past)
        )
        db.session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.status == "pending")
            .values(claimed_at=past, created_at=past)
        )
        db.session.commit()


def _ledger(api) -> list[tuple[str, str, int]]:
    from app.platform.models import OutboundMessage

    return _rows(api, OutboundMessage.channel, OutboundMessage.status, OutboundMessage.attempts)


def test_a_worker_killed_during_the_sos_e_mail_exchange_still_gets_it_out_once(tmp_path, smtp):
    """SIGKILL of the worker while the SMTP server holds the SOS e-mail at RCPT: the in-app alert
    is there once, the e-mail's claim is left ``pending`` and the task never reported back. Once
    the task's deadline and the claim's lease have passed, the relay hands the task to another
    worker, which sends the e-mail: it arrives once, and the in-app alert is not repeated."""
    from app.platform.mail import stable_message_id

    require("redis")
    with export_stack(tmp_path, smtp) as (api, _broker, worker_env, _storage):
        people, client, token = _signed_in_person(api)
        worker_log = tmp_path / "worker.log"
        first = start_celery_worker(worker_env, worker_log, f"doomed-{uuid.uuid4().hex[:6]}")
        second = None
        try:
            smtp.stall(people["carer_email"])
            response = client.post(
                f"{API}/parking-events/{people['event_id']}/assist",
                json={"level": 5, "latitude": 48.86, "longitude": 2.29},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200, response.get_json()
            assert response.get_json()["care_circle_alerted"] is True
            assert smtp.stalled.wait(30), f"no SMTP exchange began:\n{worker_log.read_text()}"
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(10)
            smtp.release()

            assert _sos_alerts(api, people["carer_id"]) == 1
            assert _ledger(api) == [("email", "pending", 1)]
            # The alert task never reported back; the push of the in-app alert, committed with
            # it before the SMTP exchange (SQLite), waits in the outbox.
            assert sorted(_outbox(api)) == [
                ("circle.deliver_assist_alert", "sent", 1),
                ("devices.push_notification", "pending", 0),
            ]
            assert smtp.to(people["carer_email"]) == []

            second = start_celery_worker(worker_env, worker_log, f"heir-{uuid.uuid4().hex[:6]}")
            _time_passes(api)
            assert _run_job(api, "relay-outbox") == {**RELAYED, "sent": 2, "lost": 1}
            wait_until(
                lambda: len(smtp.to(people["carer_email"])) >= 1 and _outbox(api) == [],
                60,
                interval=0.3,
                message=lambda: f"the SOS e-mail never went out:\n{worker_log.read_text()[-3000:]}",
            )
            time.sleep(1.0)  # a duplicate, if any, would arrive now
        finally:
            stop_group(first, signal.SIGKILL)
            if second is not None:
                stop_group(second)

        [message] = smtp.to(people["carer_email"])
        assert "SOS" in message["Subject"]
        assert _sos_alerts(api, people["carer_id"]) == 1
        assert _ledger(api) == [("email", "sent", 2)]
        key = message["Message-ID"]
        assert key.startswith("<") and "@" in key
        with api.app_context():  # the Message-ID's domain is the configured sender's
            assert key in {stable_message_id(k) for k in _ledger_keys(api)}


def _ledger_keys(api) -> list[str]:
    from app.platform.models import OutboundMessage

    return [key for (key,) in _rows(api, OutboundMessage.dedupe_key)]


def _sos(client, token: str, event_id: int):
    response = client.post(
        f"{API}/parking-events/{event_id}/assist",
        json={"level": 5},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["care_circle_alerted"] is True
    return response.get_json()["assist_id"]


def test_the_worker_rides_out_a_broker_outage_with_a_task_in_flight(tmp_path, smtp):
    """The deployed worker (prefork) is sending an SOS e-mail when Redis stops; the task ends
    while Redis is gone, Redis comes back (empty), and the same worker process reconnects on
    its own and delivers the next SOS. Both SOS e-mails arrive, once each."""

    require("redis")
    with export_stack(tmp_path, smtp) as (api, broker, worker_env, _storage):
        people, client, token = _signed_in_person(api)
        worker_log = tmp_path / "worker.log"
        worker = start_celery_worker(
            worker_env, worker_log, f"steady-{uuid.uuid4().hex[:6]}", pool="prefork"
        )
        try:
            smtp.stall(people["carer_email"])
            _sos(client, token, people["event_id"])
            assert smtp.stalled.wait(30), f"no SMTP exchange began:\n{worker_log.read_text()}"
            broker.stop()
            time.sleep(2.0)
            smtp.release()  # the in-flight task ends (a refused send) while Redis is down
            time.sleep(8.0)
            assert worker.poll() is None, f"the worker died:\n{worker_log.read_text()[-4000:]}"

            broker.start()
            _sos(client, token, people["event_id"])
            wait_until(
                lambda: _sos_alerts(api, people["carer_id"]) == 2,
                60,
                interval=0.5,
                message=lambda: f"the next SOS was not run:\n{worker_log.read_text()[-4000:]}",
            )
            assert worker.poll() is None  # the same worker process ran it
            # The first SOS's retry was promised while Redis was down: the relay sends it.
            _make_due(api)
            _run_job(api, "relay-outbox")
            wait_until(
                lambda: len(smtp.to(people["carer_email"])) >= 2,
                60,
                interval=0.3,
                message=lambda: f"an SOS e-mail is missing:\n{worker_log.read_text()[-4000:]}",
            )
            time.sleep(1.0)
            assert worker.poll() is None, f"the worker died:\n{worker_log.read_text()[-4000:]}"
        finally:
            stop_group(worker)

        log = worker_log.read_text()
        assert "Unrecoverable error" not in log, log[-4000:]
        assert len(smtp.to(people["carer_email"])) == 2
        assert _sos_alerts(api, people["carer_id"]) == 2
