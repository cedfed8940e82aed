"""Expiry of export files and the sweeper that re-sends exports the broker never received."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import sqlalchemy as sa

from app.exports.models import Export
from app.platform.models import utcnow
from app.platform.storage import get_storage
from tests.factories import BookingFactory, ExportFactory


def test_expire_exports_deletes_old_files_only(app, db, user, run_job):
    storage = get_storage()
    old = ExportFactory(
        user=user,
        status="done",
        storage_key=f"exports/{user.id}/901.csv",
        expires_at=utcnow() - timedelta(minutes=1),
    )
    fresh = ExportFactory(
        user=user,
        status="done",
        storage_key=f"exports/{user.id}/902.csv",
        expires_at=utcnow() + timedelta(days=6),
    )
    storage.put_bytes(old.storage_key, b"a,b\n", "text/csv")
    storage.put_bytes(fresh.storage_key, b"a,b\n", "text/csv")
    old_key = old.storage_key

    assert run_job("expire-exports") == {"expired": 1}
    db.session.expire_all()
    assert db.session.get(Export, old.id).status == "expired"
    assert db.session.get(Export, fresh.id).status == "done"
    assert storage.head(old_key) is None
    assert storage.head(fresh.storage_key) == 4


def test_pending_export_the_broker_never_got_is_run_by_the_sweeper(app, client, auth, user, db):
    from app.exports.jobs import sweep_exports
    from app.exports.tasks import run_export
    from app.platform.queue import send_ready_tasks

    BookingFactory(user=user)
    headers = auth(user)
    # The task as this app's Celery knows it (dispatch sends through the current app).
    bound_task = app.extensions["celery"].tasks[run_export.name]
    with mock.patch.object(bound_task, "apply_async", side_effect=ConnectionError("broker down")):
        response = client.post("/api/v1/exports", json={"kind": "bookings"}, headers=headers)
    assert response.status_code == 202
    export_id = response.get_json()["id"]
    assert client.get(f"/api/v1/exports/{export_id}", headers=headers).get_json()["status"] == (
        "pending"
    )

    # Too recent to sweep; then, once it has waited long enough, the sweeper sends it.
    assert sweep_exports() == {"requeued": 0, "failed": 0}
    export = db.session.get(Export, export_id)
    export.queued_at = utcnow() - timedelta(minutes=10)
    db.session.flush()
    assert sweep_exports() == {"requeued": 1, "failed": 0}
    db.session.commit()
    send_ready_tasks()
    body = client.get(f"/api/v1/exports/{export_id}", headers=headers).get_json()
    assert body["status"] == "done" and body["row_count"] == 1


def test_stuck_running_export_is_reclaimed_and_hopeless_one_fails(app, db, user, run_job):
    from tests.factories import UserFactory

    stuck = ExportFactory(
        user=user,
        status="running",
        active_user_id=user.id,
        attempts=1,
        started_at=utcnow() - timedelta(hours=1),
    )
    other = UserFactory()
    hopeless = ExportFactory(
        user=other,
        status="running",
        active_user_id=other.id,
        attempts=5,
        started_at=utcnow() - timedelta(hours=1),
    )
    assert run_job("sweep-exports") == {"requeued": 1, "failed": 1}
    db.session.expire_all()
    assert db.session.get(Export, stuck.id).status == "done"
    failed = db.session.get(Export, hopeless.id)
    assert failed.status == "failed" and failed.active_user_id is None


def test_running_export_is_reclaimed_as_soon_as_its_heartbeat_stops(app, db, user, run_job):
    """A worker that died mid-export stops stamping the heartbeat: the next sweep (every 20 s)
    takes the export over, long before the task's time limit; a live one is left alone."""
    from app.exports.service import ABANDONED_AFTER
    from app.platform.scheduling import JOBS
    from tests.factories import UserFactory

    started = utcnow() - timedelta(seconds=40)
    dead = ExportFactory(
        user=user,
        status="running",
        active_user_id=user.id,
        attempts=1,
        started_at=started,
        heartbeat_at=utcnow() - ABANDONED_AFTER - timedelta(seconds=2),
    )
    other = UserFactory()
    alive = ExportFactory(
        user=other,
        status="running",
        active_user_id=other.id,
        attempts=1,
        started_at=started,
        heartbeat_at=utcnow() - timedelta(seconds=2),
    )
    assert JOBS["sweep-exports"].cron == "every 20s"
    assert ABANDONED_AFTER + JOBS["sweep-exports"].schedule <= timedelta(seconds=40)
    assert run_job("sweep-exports") == {"requeued": 1, "failed": 0}
    db.session.expire_all()
    assert db.session.get(Export, dead.id).status == "done"
    assert db.session.get(Export, dead.id).attempts == 2
    assert db.session.get(Export, alive.id).status == "running"


def test_an_attempt_taken_over_drops_its_result_and_sends_no_mail(app, db, user, mailing):
    """Two workers on one export (the first only seemed dead): the later claim wins; the earlier
    attempt neither marks the export done nor queues the e-mail."""
    from sqlalchemy import select

    from app.exports import service as exports
    from app.platform.models import OutboxMessage

    BookingFactory(user=user)
    export = ExportFactory(user=user, status="pending", active_user_id=user.id, email=True)
    db.session.commit()
    first = exports.claim_export(export.id)
    db.session.commit()
    db.session.execute(
        sa.update(Export)
        .where(Export.id == export.id)
        .values(heartbeat_at=utcnow() - timedelta(minutes=1))
    )
    second = exports.claim_export(export.id)
    db.session.commit()
    assert (first, second) == (1, 2)

    assert exports.produce_export(export.id, first) == 0
    assert exports.produce_export(export.id, second) == 1
    db.session.commit()
    done = db.session.get(Export, export.id, populate_existing=True)
    assert (done.status, done.row_count, done.attempts) == ("done", 1, 2)
    tasks = db.session.scalars(select(OutboxMessage.task)).all()
    assert tasks.count("mail.send_export_email") == 1


def test_heartbeat_stamps_its_row_until_closed_and_stops_when_taken_over(app, db):
    """The mechanism: beats on its own connection while the caller's transaction stays open."""
    import threading

    from app.platform.heartbeat import Heartbeat

    beats: list[int] = []
    taken_over = threading.Event()

    def beat(connection) -> bool:
        beats.append(connection.execute(sa.text("SELECT 1")).scalar_one())
        return not taken_over.is_set()

    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with Heartbeat(engine, beat, interval=0.02, name="probe") as heartbeat:
            _wait(lambda: len(beats) >= 3)
            assert not heartbeat.lost
            taken_over.set()
            _wait(lambda: heartbeat.lost)
    finally:
        engine.dispose()
    count = len(beats)
    assert count >= 4 and beats == [1] * count


def _wait(predicate, timeout: float = 5.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_file_finished_after_its_account_was_erased_is_removed(
    app, db, user, tmp_path, monkeypatch
):
    """Erasure deletes the export row while a worker is still writing the person's ZIP: the
    worker must not leave the file behind in storage."""
    from app.exports import service as exports
    from app.platform.storage import get_storage
    from tests.support.s3 import app_settings

    export = ExportFactory(
        user=user, kind="personal_data", status="pending", active_user_id=user.id
    )
    attempt = exports.claim_export(export.id)
    real = exports.write_personal_zip

    def erased_meanwhile(path, *, user_id):
        count = real(path, user_id=user_id)
        db.session.execute(sa.delete(Export).where(Export.id == export.id))
        return count

    monkeypatch.setattr(exports, "write_personal_zip", erased_meanwhile)
    with app_settings(app, S3_BUCKET=None, LOCAL_STORAGE_PATH=str(tmp_path / "files")):
        key = f"exports/{user.id}/{export.id}.zip"
        assert exports.produce_export(export.id, attempt) == 0
        assert get_storage().head(key) is None
        assert list((tmp_path / "files").rglob("*.zip")) == []
