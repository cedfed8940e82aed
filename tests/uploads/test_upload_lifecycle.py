"""Avatars, discarding photos, batch photo URLs, and the clean-up of uploads never completed."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from tests.uploads.conftest import image_bytes, stored_size


def _avatar(phone, data=None) -> dict:
    return phone.upload(data or image_bytes("PNG"), purpose="avatar")


def test_avatar_via_patch_me_shows_a_signed_avatar_url(phone):
    data = image_bytes("JPEG")
    upload = phone.upload(data, purpose="avatar", content_type="image/jpeg")

    response = phone.client.patch(
        "/api/v1/me", json={"avatar_upload_id": upload["id"]}, headers=phone.headers
    )

    assert response.status_code == 200, response.get_json()
    me = response.get_json()
    assert me["avatar_upload_id"] == upload["id"]
    status, fetched, served_type = phone.fetch(me["avatar_url"])
    assert (status, fetched, served_type) == (200, data, "image/jpeg")
    again = phone.client.get("/api/v1/me", headers=phone.headers).get_json()
    assert again["avatar_url"] is not None


def test_replacing_the_avatar_discards_the_old_object(phone):
    first = _avatar(phone)
    phone.client.patch("/api/v1/me", json={"avatar_upload_id": first["id"]}, headers=phone.headers)
    first_url = phone.client.get("/api/v1/me", headers=phone.headers).get_json()["avatar_url"]
    second = _avatar(phone, image_bytes("PNG", size=(8, 8)))

    response = phone.client.patch(
        "/api/v1/me", json={"avatar_upload_id": second["id"]}, headers=phone.headers
    )

    assert response.status_code == 200
    assert response.get_json()["avatar_upload_id"] == second["id"]
    assert (
        phone.client.get(f"/api/v1/uploads/{first['id']}", headers=phone.headers).status_code == 404
    )
    status, _, _ = phone.fetch(first_url)
    assert status in (403, 404)  # the object is gone from storage


def test_clearing_the_avatar(phone):
    upload = _avatar(phone)
    phone.client.patch("/api/v1/me", json={"avatar_upload_id": upload["id"]}, headers=phone.headers)

    response = phone.client.patch(
        "/api/v1/me", json={"avatar_upload_id": None}, headers=phone.headers
    )

    assert response.status_code == 200
    assert response.get_json()["avatar_upload_id"] is None
    assert response.get_json()["avatar_url"] is None


def test_avatar_must_be_a_ready_avatar_upload_of_mine(local_phone, user, db):
    from tests.factories import UploadFactory, UserFactory

    stranger = UserFactory()
    theirs = UploadFactory(user=stranger, purpose="avatar")
    pending = UploadFactory(user=user, purpose="avatar", status="pending")
    photo = UploadFactory(user=user, purpose="parking_event_photo")
    db.session.commit()  # a refused request rolls back its own work, not the test's set-up

    def attach(upload_id):
        return local_phone.client.patch(
            "/api/v1/me", json={"avatar_upload_id": upload_id}, headers=local_phone.headers
        )

    assert attach(theirs.id).status_code == 404
    assert attach(theirs.id).get_json()["error"]["code"] == "upload_not_found"
    assert attach(pending.id).status_code == 409
    assert attach(pending.id).get_json()["error"]["code"] == "upload_not_ready"
    wrong = attach(photo.id)
    assert wrong.status_code == 422
    assert "avatar_upload_id" in wrong.get_json()["error"]["fields"]
    assert (
        local_phone.client.get("/api/v1/me", headers=local_phone.headers).get_json()[
            "avatar_upload_id"
        ]
        is None
    )


def test_ready_upload_rules(db, user):
    from app.platform.errors import Conflict, NotFound, ValidationFailed
    from app.uploads.service import ready_upload
    from tests.factories import UploadFactory

    ready = UploadFactory(user=user, purpose="landmark_photo")
    pending = UploadFactory(user=user, purpose="landmark_photo", status="pending")

    assert ready_upload(user_id=user.id, upload_id=ready.id, purposes=("landmark_photo",)) is ready
    with pytest.raises(NotFound):
        ready_upload(user_id=user.id + 1000, upload_id=ready.id, purposes=("landmark_photo",))
    with pytest.raises(NotFound):
        ready_upload(user_id=user.id, upload_id=2**40, purposes=("landmark_photo",))
    with pytest.raises(Conflict) as not_ready:
        ready_upload(user_id=user.id, upload_id=pending.id, purposes=("landmark_photo",))
    assert not_ready.value.code == "upload_not_ready"
    with pytest.raises(ValidationFailed) as wrong:
        ready_upload(
            user_id=user.id,
            upload_id=ready.id,
            purposes=("parking_event_photo",),
            field="photo_upload_id",
        )
    assert "photo_upload_id" in wrong.value.fields


def test_photo_urls_in_one_query_for_ready_uploads_only(db, user, local_storage):
    from app.uploads.service import photo_url, photo_urls
    from tests.factories import UploadFactory

    ready = UploadFactory.create_batch(3, user=user)
    pending = UploadFactory(user=user, status="pending")
    ids = [u.id for u in ready] + [pending.id, None, 10**6]
    statements = []
    session = db.session()

    def count(state):
        statements.append(str(state.statement))

    from sqlalchemy import event

    event.listen(session, "do_orm_execute", count)
    try:
        urls = photo_urls(ids)
    finally:
        event.remove(session, "do_orm_execute", count)

    assert set(urls) == {u.id for u in ready}
    assert len(statements) == 1, statements
    assert photo_url(None) is None
    assert photo_url(pending.id) is None
    assert photo_url(ready[0].id).startswith("http")


def test_discard_uploads_deletes_objects_after_the_commit(db, user, storage_backend):
    from app.platform.queue import send_ready_tasks
    from app.platform.storage import get_storage
    from app.uploads.service import discard_uploads
    from tests.factories import UploadFactory

    uploads = UploadFactory.create_batch(2, user=user)
    kept = UploadFactory(user=user)
    for upload in [*uploads, kept]:
        get_storage().put_bytes(upload.storage_key, image_bytes("PNG"), "image/png")

    discard_uploads([u.id for u in uploads] + [None])

    assert all(u.status == "deleted" for u in uploads)
    assert stored_size(uploads[0].storage_key) is not None  # nothing happens before the commit
    db.session.commit()
    send_ready_tasks()
    assert [stored_size(u.storage_key) for u in uploads] == [None, None]
    assert stored_size(kept.storage_key) is not None
    assert kept.status == "ready"


def test_delete_objects_task_is_idempotent(app, db, local_storage):
    from app.platform.storage import get_storage
    from app.uploads.tasks import delete_objects

    key = f"users/1/avatar/{uuid.uuid4().hex}.png"
    get_storage().put_bytes(key, b"\x89PNG\r\n\x1a\n", "image/png")

    # This app's Celery: other tests build apps of their own, and the process default follows.
    task = app.extensions["celery"].tasks[delete_objects.name]
    assert task.apply(args=([key],)).get() == 1
    assert task.apply(args=([key],)).get() == 1
    assert get_storage().head(key) is None


def test_delete_objects_task_retries_with_backoff_while_storage_is_down(db, app, monkeypatch):
    from celery.exceptions import Retry

    from app.platform.storage import StorageUnavailable
    from app.uploads import service as uploads
    from app.uploads.tasks import delete_objects

    def down(keys):
        raise StorageUnavailable()

    retries = []

    def retry(**kwargs):
        retries.append(kwargs)
        return Retry("retry", kwargs.get("exc"))

    monkeypatch.setattr(uploads, "delete_objects", down)
    monkeypatch.setattr(delete_objects, "retry", retry)
    countdowns = []
    for attempt in (0, 3):
        delete_objects.push_request(retries=attempt, is_eager=False, called_directly=False)
        try:
            with pytest.raises(Retry):
                delete_objects.run(["users/1/avatar/x.png"])
        finally:
            delete_objects.pop_request()
        countdowns.append(retries[-1]["countdown"])

    assert countdowns[0] < countdowns[1] <= 600
    assert isinstance(retries[0]["exc"], StorageUnavailable)


def test_cleanup_job_removes_stale_pending_uploads_and_their_objects(db, user, storage_backend):
    from app.platform.models import utcnow
    from app.platform.scheduling import discover_jobs
    from app.platform.storage import get_storage
    from app.uploads.service import incoming_key
    from tests.factories import UploadFactory

    old = utcnow() - timedelta(hours=25)
    stale = UploadFactory.create_batch(2, user=user, status="pending", created_at=old)
    fresh = UploadFactory(user=user, status="pending")
    old_ready = UploadFactory(user=user, status="ready", created_at=old)
    for upload in [*stale, fresh, old_ready]:
        get_storage().put_bytes(upload.storage_key, image_bytes("PNG"), "image/png")
    for upload in stale:
        get_storage().put_bytes(incoming_key(upload.storage_key), b"partial", "image/png")

    result = discover_jobs()["cleanup-uploads"].func()

    assert (result["stale"], result["removed"]) == (2, 2)
    assert [u.status for u in stale] == ["deleted", "deleted"]
    assert [stored_size(u.storage_key) for u in stale] == [None, None]
    assert [stored_size(incoming_key(u.storage_key)) for u in stale] == [None, None]
    assert fresh.status == "pending" and stored_size(fresh.storage_key) is not None
    assert old_ready.status == "ready" and stored_size(old_ready.storage_key) is not None
    again = discover_jobs()["cleanup-uploads"].func()
    assert (again["stale"], again["removed"]) == (0, 0)


def test_cleanup_job_runs_from_the_cli(app, db, user, local_storage):
    from app.platform.models import utcnow
    from tests.factories import UploadFactory

    UploadFactory(user=user, status="pending", created_at=utcnow() - timedelta(days=2))

    result = app.test_cli_runner().invoke(args=["jobs", "run", "cleanup-uploads"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["result"]["removed"] >= 1
