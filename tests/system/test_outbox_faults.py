"""Promises under a broker outage, with real processes: a private Redis broker that is stopped
and started again, and a real Celery worker."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from tests.conftest import require
from tests.support.processes import start_celery_worker, stop_group, wait_until
from tests.system.test_faults import API, _run_job, export_stack


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


def _outbox(api) -> list[tuple[str, str, int]]:
    from sqlalchemy import select

    from app.platform.extensions import db
    from app.platform.models import OutboxMessage

    with api.app_context():
        rows = db.session.execute(
            select(OutboxMessage.task, OutboxMessage.status, OutboxMessage.attempts)
        ).all()
        db.session.rollback()
        return [tuple(row) for row in rows]


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
    from tests.factories import PASSWORD

    require("redis")
    with export_stack(tmp_path, smtp) as (api, broker, worker_env, _storage):
        people = _person_with_caregiver(api)
        client = api.test_client()
        token = client.post(
            f"{API}/auth/login", json={"login": people["username"], "password": PASSWORD}
        ).get_json()["access_token"]
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
            assert _run_job(api, "relay-outbox") == {"sent": 1, "retrying": 0, "given_up": 0}
            wait_until(
                lambda: _sos_alerts(api, people["carer_id"]) == 1,
                60,
                interval=0.3,
                message=lambda: f"the SOS never arrived:\n{worker_log.read_text()[-3000:]}",
            )
            messages = smtp.wait_for(1, timeout=30)
            assert _run_job(api, "relay-outbox") == {"sent": 0, "retrying": 0, "given_up": 0}
            time.sleep(1.0)  # a duplicate, if any, would arrive now
        finally:
            stop_group(worker)

        assert _sos_alerts(api, people["carer_id"]) == 1
        assert [m["To"] for m in messages] == [people["carer_email"]]
        assert "SOS" in messages[0]["Subject"]
        assert _outbox(api) == [("circle.deliver_assist_alert", "sent", 2)]
