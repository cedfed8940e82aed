"""The outbox: a promised task is written in the same transaction as the change that promises it,
handed to Celery after the commit, kept when the broker is down, and relayed with backoff until
the broker takes it, or given up (logged, ``failed``) after ``OUTBOX_GIVE_UP_AFTER``."""

from __future__ import annotations

import logging
from datetime import timedelta

import flask_migrate
import pytest
from celery import shared_task
from celery.exceptions import Retry
from sqlalchemy import delete as sa_delete
from sqlalchemy import select, update

from app.accounts.models import User
from app.notifications.models import Notification
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
        # In-process (no broker), the hand-over was the run: nothing is left in flight.
        assert _rows() == []


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
            assert relay_due_messages(now=later) == {
                "sent": 1,
                "retrying": 0,
                "given_up": 0,
                "lost": 0,
            }
            db.session.commit()
            assert _rows() == []  # run in-process: done
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
    # Written with the SOS, run in-process after the commit: acknowledged, so deleted. (Before
    # the commit it was there: a rolled-back SOS leaves no row and sends nothing.)
    assert rows == []
    alerts = db.session.scalars(
        select(Notification).where(
            Notification.user_id == carer.id, Notification.kind == "assist_level_5"
        )
    ).all()
    assert len(alerts) == 1


# --- a task in flight reports back; one that never does is handed over again ----------------------


@shared_task(name="tests.outbox.flaky", bind=True)
def flaky(self, outcome: str) -> str:
    if outcome == "retry":
        raise self.retry(countdown=600)
    if outcome == "fail":
        raise ValueError("no such parking event")
    return outcome


@pytest.fixture
def broker_app(tmp_path):
    """An app whose broker takes messages and keeps them (kombu's in-memory transport): a row
    handed over stays in flight until a task reports back."""
    url = f"sqlite:///{tmp_path / 'flight.db'}"
    with _restore_celery_current_app():
        app = make_app(url, CELERY_BROKER_URL="memory://")
        app.extensions["celery"].conf.task_always_eager = False
        with app.app_context():
            flask_migrate.upgrade(directory=MIGRATIONS)
        with app.test_request_context():
            yield app
            db.session.remove()
            db.engine.dispose()


def _in_flight(task_name: str, *args) -> OutboxMessage:
    enqueue(task_name, *args)
    db.session.commit()
    assert send_ready_tasks() == 1
    [row] = _rows()
    assert row.status == "sent" and row.attempts == 1
    return row


def _run_as_worker(task, row: OutboxMessage, *args) -> None:
    """Run ``task`` as a worker would run the message handed over for ``row`` (the test's own
    transaction ends first, so it then reads what the worker committed)."""
    db.session.commit()
    task.push_request(
        id=f"outbox-{row.id}-0a1b2c3d4e5f",
        is_eager=False,
        called_directly=False,
        retries=0,
        args=list(args),
        kwargs={},
    )
    try:
        task(*args)
    finally:
        task.pop_request()
        db.session.commit()


def test_a_task_in_flight_has_a_deadline_and_reports_back_by_deleting_its_row(broker_app):
    row = _in_flight("tests.outbox.record", 11)
    limit = broker_app.extensions["celery"].conf.task_time_limit
    seconds = (row.due_at - row.sent_at).total_seconds()
    assert limit + 55 <= seconds <= limit + 65
    _run_as_worker(broker_app.extensions["celery"].tasks["tests.outbox.record"], row, 11)
    assert RECORDED == [11]
    assert _rows() == []


def test_a_task_that_never_reports_back_is_handed_over_again_after_its_deadline(broker_app):
    """A worker killed mid-task, or a broker restarted without its queue: the row is still
    ``sent`` after its deadline, and the relay hands the task over again (at least once)."""
    row = _in_flight("tests.outbox.record", 12)
    assert relay_due_messages()["lost"] == 0  # within its deadline: left alone
    later = row.due_at + timedelta(seconds=1)
    assert relay_due_messages(now=later) == {"sent": 1, "retrying": 0, "given_up": 0, "lost": 1}
    db.session.commit()
    [again] = _rows()
    assert again.status == "sent" and again.attempts == 2 and again.due_at > later
    _run_as_worker(broker_app.extensions["celery"].tasks["tests.outbox.record"], again, 12)
    assert _rows() == []


def test_a_retry_moves_the_deadline_and_a_final_failure_is_kept_for_the_operator(broker_app):
    task = broker_app.extensions["celery"].tasks["tests.outbox.flaky"]
    row = _in_flight("tests.outbox.flaky", "retry")
    deadline = row.due_at
    with pytest.raises(Retry):
        _run_as_worker(task, row, "retry")
    [row] = _rows()
    assert row.status == "sent" and row.due_at >= deadline + timedelta(seconds=590)

    db.session.execute(sa_delete(OutboxMessage))
    db.session.commit()
    row = _in_flight("tests.outbox.flaky", "fail")
    with pytest.raises(ValueError):
        _run_as_worker(task, row, "fail")
    [row] = _rows()
    assert row.status == "failed" and "no such parking event" in row.last_error
    assert relay_due_messages(now=row.due_at + timedelta(hours=1))["sent"] == 0


# --- a task that lost a lock race runs again ----------------------------------------------

RUNS: list[int] = []


@shared_task(name="tests.outbox.read_then_write")
def read_then_write(user_id: int) -> None:
    """Reads, then writes. While its first run holds the read, another connection commits."""
    RUNS.append(user_id)
    db.session.scalar(select(User.full_name).where(User.id == user_id))  # its snapshot begins
    if len(RUNS) == 1:
        with db.engine.begin() as other:  # another process (the API) commits meanwhile
            other.execute(update(User).where(User.id == user_id).values(full_name="Elsewhere"))
    db.session.add(Notification(user_id=user_id, kind="test", title="t", body="b"))
    db.session.flush()


def test_a_task_that_lost_a_lock_race_runs_again_in_a_fresh_transaction(broker_app):
    """On SQLite the first run's write finds its read snapshot stale and is refused at once
    ("database is locked", whatever the busy timeout); a deadlock on MariaDB or PostgreSQL ends
    the same way. The task edge runs the task again, as a write request is run again: the
    promise is kept, where the task used to fail for good (its row ``failed``, never resent)."""
    RUNS.clear()
    user_id = UserFactory().id
    task = broker_app.extensions["celery"].tasks["tests.outbox.read_then_write"]
    row = _in_flight("tests.outbox.read_then_write", user_id)
    _run_as_worker(task, row, user_id)
    assert RUNS == [user_id, user_id]
    assert _rows() == []  # done, and reported back
    assert db.session.scalar(select(User.full_name).where(User.id == user_id)) == "Elsewhere"
    kinds = db.session.scalars(select(Notification.kind).where(Notification.user_id == user_id))
    assert list(kinds) == ["test"]
