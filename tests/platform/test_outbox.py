"""The outbox: a promised task is written in the same transaction as the change that promises it,
handed to Celery after the commit, kept when the broker is down, and relayed with backoff until
the broker takes it, or given up (logged, ``failed``) after ``OUTBOX_GIVE_UP_AFTER``."""

from __future__ import annotations

import logging
from datetime import timedelta

import flask_migrate
import pytest
from celery import shared_task
from sqlalchemy import select

from app.platform.extensions import db
from app.platform.models import OutboxMessage, utcnow
from app.platform.queue import backlog, enqueue, relay_due_messages, send_ready_tasks
from tests.conftest import MIGRATIONS, make_app
from tests.factories import CircleMembershipFactory, ParkingEventFactory, UserFactory
from tests.support.celery_worker import _restore_celery_current_app
from tests.support.net import free_port

RECORDED: list[int] = []


@shared_task(name="tests.outbox.record")
def record(value: int) -> int:
    RECORDED.append(value)
    return value


@pytest.fixture(autouse=True)
def _clear_recorded():
    RECORDED.clear()


def _rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


@pytest.mark.usefixtures("db")
def test_a_promise_is_written_with_the_change_and_sent_after_the_commit(app):
    with app.test_request_context():
        enqueue("tests.outbox.record", 7)
        [row] = _rows()
        assert (row.task, row.args, row.status) == ("tests.outbox.record", [7], "pending")
        assert RECORDED == []  # nothing runs before the commit
        db.session.commit()
        assert send_ready_tasks() == 1
        assert RECORDED == [7]
        [row] = _rows()
        assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None


@pytest.mark.usefixtures("db")
def test_a_rolled_back_change_promises_nothing(app):
    with app.test_request_context():
        enqueue("tests.outbox.record", 8)
        db.session.rollback()
        assert send_ready_tasks() == 0
        assert _rows() == []
    assert RECORDED == []


def test_a_broker_that_is_down_keeps_the_promise_until_the_relay_delivers_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'outbox.db'}"
    with _restore_celery_current_app():
        down = make_app(url, CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
        with down.app_context():
            flask_migrate.upgrade(directory=MIGRATIONS)
        with down.test_request_context():
            enqueue("tests.outbox.record", 9)
            db.session.commit()
            assert send_ready_tasks() == 0  # the broker refused it; nothing is lost
            [row] = _rows()
            assert row.status == "pending" and row.attempts == 1
            assert "Error" in row.last_error
            assert row.due_at > utcnow()
            assert backlog()["pending"] == 1
            # Not yet due: the relay leaves it alone.
            assert relay_due_messages()["sent"] == 0
            # The broker is back (here: tasks run in-process), and the row is due.
            down.extensions["celery"].conf.task_always_eager = True
            later = utcnow() + timedelta(minutes=10)
            assert relay_due_messages(now=later) == {"sent": 1, "retrying": 0, "given_up": 0}
            db.session.commit()
            [row] = _rows()
            assert row.status == "sent" and row.attempts == 2
            assert relay_due_messages(now=later)["sent"] == 0  # sent once
            db.session.remove()
            db.engine.dispose()
    assert RECORDED == [9]


@pytest.mark.usefixtures("db")
def test_a_promise_the_broker_never_takes_is_given_up_loudly(app, caplog):
    with app.test_request_context():
        old = utcnow() - app.config["OUTBOX_GIVE_UP_AFTER"] - timedelta(minutes=1)
        db.session.add(
            OutboxMessage(task="tests.outbox.record", args=[1], created_at=old, due_at=old)
        )
        db.session.flush()
        with caplog.at_level(logging.ERROR, logger="app.platform.queue"):
            assert relay_due_messages()["given_up"] == 1
        [row] = _rows()
        assert row.status == "failed"
        assert any("given up" in record.getMessage() for record in caplog.records)
    assert RECORDED == []


def test_ready_and_metrics_show_the_backlog(app, client):
    old = utcnow() - timedelta(minutes=10)
    with app.app_context():
        db.session.add(
            OutboxMessage(task="tests.outbox.record", args=[2], created_at=old, due_at=old)
        )
        db.session.commit()  # a savepoint of the test's transaction: /ready's rollback keeps it
    ready = client.get("/api/v1/ready").get_json()
    outbox = ready["checks"]["outbox"]
    assert outbox["pending"] == 1 and outbox["status"] == "delayed"
    assert outbox["oldest_age_seconds"] >= 600
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "parkmind_outbox_pending 1.0" in metrics
    assert "parkmind_outbox_oldest_age_seconds" in metrics


def test_an_sos_writes_its_alert_in_the_same_transaction(client, auth, db):
    person, carer = UserFactory(), UserFactory()
    CircleMembershipFactory(person=person, member=carer)
    event = ParkingEventFactory(user=person)
    response = client.post(
        f"/api/v1/parking-events/{event.id}/assist", json={"level": 5}, headers=auth(person)
    )
    assert response.status_code == 200 and response.get_json()["care_circle_alerted"] is True
    rows = [row for row in _rows() if row.task == "circle.deliver_assist_alert"]
    assert [row.args for row in rows] == [[response.get_json()["assist_id"]]]
    assert rows[0].status == "sent"
