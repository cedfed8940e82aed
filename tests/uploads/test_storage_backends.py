"""The presigned policy, the local backend's signed endpoints, and an unreachable S3."""

from __future__ import annotations

import base64
import io
import json
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine

from tests.support.s3 import app_settings, hanging_server
from tests.uploads.conftest import image_bytes


@pytest.fixture
def s3_phone(client, auth, user, app, s3):
    from tests.uploads.conftest import Phone

    with app_settings(app, **s3.settings()):
        yield Phone(client=client, backend="s3", headers=auth(user))


def test_presigned_post_policy_carries_size_type_key_and_expiry(s3_phone, s3):
    data = image_bytes("JPEG")
    before = datetime.now(UTC)

    ticket = s3_phone.start(purpose="landmark_photo", content_type="image/jpeg", data=data)

    assert ticket.status_code == 201
    ticket = ticket.get_json()
    assert ticket["url"].startswith(s3.endpoint_url)
    fields = ticket["fields"]
    assert fields["Content-Type"] == "image/jpeg"
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 1, len(data)] in conditions
    assert {"Content-Type": "image/jpeg"} in conditions
    assert {"bucket": s3.bucket} in conditions
    assert {"key": fields["key"]} in conditions
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert before < expiration <= before + timedelta(minutes=10, seconds=5)
    # The credentials come from the environment, never from the app's code or config.
    assert fields["x-amz-credential"].startswith("testing/")


def test_s3_signed_get_url_is_sigv4_and_short_lived(s3_phone):
    upload = s3_phone.upload(image_bytes("PNG"))

    query = urlsplit(upload["photo_url"]).query

    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in query
    expires = int(dict(part.split("=", 1) for part in query.split("&"))["X-Amz-Expires"])
    assert 0 < expires <= 300


def test_hanging_s3_endpoint_is_503_within_8_seconds_and_the_api_keeps_working(
    client, auth, user, app, s3
):
    headers = auth(user)
    with hanging_server() as url, app_settings(app, S3_BUCKET="parkmind-down", S3_ENDPOINT_URL=url):
        started = client.post(
            "/api/v1/uploads",
            json={"purpose": "avatar", "content_type": "image/png", "size_bytes": 100},
            headers=headers,
        )
        assert started.status_code == 201  # presigning needs no round trip
        begin = time.monotonic()

        response = client.post(
            f"/api/v1/uploads/{started.get_json()['id']}/complete", headers=headers
        )

        elapsed = time.monotonic() - begin
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "storage_unavailable"
        assert elapsed < 8, elapsed
        assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_storage_client_is_built_once_per_app(app, s3, db):
    from app.platform.storage import get_storage

    with app_settings(app, **s3.settings()):
        first = get_storage()
        assert get_storage() is first
        assert first.client is get_storage().client


# ---------------------------------------------------------------------------------------------
# Local storage: the app plays S3's part with signed, expiring URLs.


def test_local_download_link_expires_with_403(local_phone):
    data = image_bytes("PNG")
    with time_machine.travel(datetime.now(UTC), tick=False) as traveller:
        upload = local_phone.upload(data)
        status, fetched, _ = local_phone.fetch(upload["photo_url"])
        assert status == 200 and fetched == data

        traveller.shift(timedelta(minutes=5, seconds=1))
        expired = local_phone.client.get(urlsplit(upload["photo_url"]).path)

    assert expired.status_code == 403
    assert expired.get_json()["error"]["code"] == "signature_expired"


def test_local_download_link_cannot_be_forged(local_phone):
    upload = local_phone.upload(image_bytes("PNG"))
    path = urlsplit(upload["photo_url"]).path

    forged = local_phone.client.get(path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"))

    assert forged.status_code == 403
    assert forged.get_json()["error"]["code"] == "invalid_signature"


def test_local_upload_policy_expires(local_phone):
    data = image_bytes("PNG")
    with time_machine.travel(datetime.now(UTC), tick=False) as traveller:
        ticket = local_phone.start(data=data).get_json()
        traveller.shift(timedelta(minutes=10, seconds=1))
        status, body = local_phone.send(ticket, data)

    assert status == 403
    assert json.loads(body)["error"]["code"] == "signature_expired"


def test_local_upload_enforces_the_policy_size_and_type(local_phone):
    data = image_bytes("PNG", size=(32, 32))
    ticket = local_phone.start(data=data, size_bytes=len(data) - 1).get_json()

    status, body = local_phone.send(ticket, data)
    assert status == 400
    assert json.loads(body)["error"]["code"] == "entity_too_large"

    other_type = {**ticket, "fields": {**ticket["fields"], "Content-Type": "image/jpeg"}}
    status, body = local_phone.send(other_type, data[:-1])
    assert status == 403
    assert json.loads(body)["error"]["code"] == "policy_condition_failed"

    other_key = {**ticket, "fields": {**ticket["fields"], "key": "users/1/avatar/evil.png"}}
    status, body = local_phone.send(other_key, data[:-1])
    assert status == 403


def test_local_upload_body_over_the_ceiling_is_413(local_phone, app):
    ticket = local_phone.start(size_bytes=100).get_json()
    too_big = b"\0" * (app.config["UPLOAD_MAX_BYTES"] + 128 * 1024)
    form = {**ticket["fields"], "file": (io.BytesIO(too_big), "photo", "image/png")}

    response = local_phone.client.post(
        "/api/v1/storage/uploads", data=form, content_type="multipart/form-data"
    )

    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_local_endpoints_are_closed_when_s3_is_configured(s3_phone):
    response = s3_phone.client.get("/api/v1/storage/files/anything")

    assert response.status_code == 404


def test_local_storage_never_writes_outside_its_root(app, local_storage, db):
    from app.platform.storage import get_storage

    with pytest.raises(ValueError):
        get_storage().path_for("../../etc/passwd")


def test_put_file_and_streams_round_trip_on_both_backends(storage_backend, tmp_path, db):
    from app.platform.storage import get_storage

    storage = get_storage()
    source = tmp_path / "report.csv"
    source.write_bytes(b"id,name\n" + b"1,x\n" * 1000)

    storage.put_file("exports/1/report.csv", source, "text/csv")
    with source.open("rb") as handle:
        storage.put_file("exports/1/copy.csv", handle, "text/csv")
    storage.put_bytes("exports/1/small.txt", b"hello", "text/plain")

    assert storage.head("exports/1/report.csv") == source.stat().st_size
    assert storage.read("exports/1/copy.csv") == source.read_bytes()
    assert b"".join(storage.open_stream("exports/1/report.csv")) == source.read_bytes()
    assert storage.read_prefix("exports/1/small.txt", 3) == b"hel"
    storage.delete("exports/1/small.txt")
    storage.delete("exports/1/small.txt")  # idempotent
    assert storage.head("exports/1/small.txt") is None
    url = storage.signed_get_url("exports/1/report.csv", 60, filename="report.csv")
    assert url.startswith("http")


def test_misconfigured_s3_leaves_profiles_working_without_photo_urls(
    client, auth, user, app, db, s3
):
    from tests.factories import UploadFactory

    avatar = UploadFactory(user=user, purpose="avatar")
    user.avatar_upload_id = avatar.id
    pending = UploadFactory(user=user, status="pending")
    db.session.commit()
    headers = auth(user)
    with app_settings(app, S3_BUCKET="parkmind", S3_ENDPOINT_URL="not a url"):
        me = client.get("/api/v1/me", headers=headers)
        completed = client.post(f"/api/v1/uploads/{pending.id}/complete", headers=headers)

    assert me.status_code == 200
    assert me.get_json()["avatar_upload_id"] == avatar.id
    assert me.get_json()["avatar_url"] is None
    assert completed.status_code == 503
    assert completed.get_json()["error"]["code"] == "storage_unavailable"


def test_s3_without_credentials_is_503_not_500(client, auth, user, app, db, s3, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    headers = auth(user)
    # A bucket name of its own, so a client built with credentials is not reused from the cache.
    with app_settings(app, **{**s3.settings(), "S3_BUCKET": "parkmind-no-credentials"}):
        response = client.post(
            "/api/v1/uploads",
            json={"purpose": "avatar", "content_type": "image/png", "size_bytes": 100},
            headers=headers,
        )

    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "storage_unavailable"
