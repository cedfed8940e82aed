"""Expiry of export files and the sweeper that re-sends exports the broker never received."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

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
