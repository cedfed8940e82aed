"""Fixtures for photo upload tests: one storage backend per parameter, and a phone-like client."""

from __future__ import annotations

import io
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.s3 import app_settings


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (4, 3)) -> bytes:
    """A small, valid image in ``fmt`` (PNG, JPEG or WEBP)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 90)).save(buffer, format=fmt)
    return buffer.getvalue()


@dataclass
class Phone:
    """Does what the mobile app does: ask for an upload, send bytes to storage, complete, read."""

    client: object
    backend: str
    headers: dict

    def start(self, purpose="avatar", content_type="image/png", size_bytes=None, data=b""):
        body = {
            "purpose": purpose,
            "content_type": content_type,
            "size_bytes": size_bytes if size_bytes is not None else len(data),
        }
        return self.client.post("/api/v1/uploads", json=body, headers=self.headers)

    def send(self, ticket: dict, data: bytes, content_type: str | None = None):
        """POST the form fields and the file to the ticket's URL; returns (status, body)."""
        content_type = content_type or ticket["fields"]["Content-Type"]
        if self.backend == "s3":
            response = requests.post(
                ticket["url"],
                data=ticket["fields"],
                files={"file": ("photo", data, content_type)},
                timeout=10,
            )
            return response.status_code, response.content
        form = {**ticket["fields"], "file": (io.BytesIO(data), "photo", content_type)}
        response = self.client.post(
            urlsplit(ticket["url"]).path, data=form, content_type="multipart/form-data"
        )
        return response.status_code, response.get_data()

    def complete(self, upload_id: int, headers: dict | None = None):
        return self.client.post(
            f"/api/v1/uploads/{upload_id}/complete", headers=headers or self.headers
        )

    def fetch(self, url: str):
        """GET a signed URL; returns (status, bytes, content type)."""
        if self.backend == "s3":
            response = requests.get(url, timeout=10)
            return response.status_code, response.content, response.headers.get("Content-Type")
        response = self.client.get(urlsplit(url).path)
        return response.status_code, response.get_data(), response.headers.get("Content-Type")

    def upload(self, data: bytes, purpose="avatar", content_type="image/png") -> dict:
        """The whole happy path; returns the completed upload."""
        started = self.start(purpose=purpose, content_type=content_type, data=data)
        assert started.status_code == 201, started.get_json()
        ticket = started.get_json()
        status, body = self.send(ticket, data)
        assert status in (200, 201, 204), body
        done = self.complete(ticket["id"])
        assert done.status_code == 200, done.get_json()
        return done.get_json()


@pytest.fixture(params=["local", "s3"])
def storage_backend(request, app, tmp_path):
    """Point the app at local files under ``tmp_path`` or at the moto S3 server."""
    if request.param == "s3":
        s3 = request.getfixturevalue("s3")
        settings = s3.settings()
    else:
        settings = {"S3_BUCKET": None, "LOCAL_STORAGE_PATH": str(tmp_path / "files")}
    with app_settings(app, **settings):
        yield request.param


@pytest.fixture
def local_storage(app, tmp_path):
    """Local files only."""
    with app_settings(app, S3_BUCKET=None, LOCAL_STORAGE_PATH=str(tmp_path / "files")):
        yield "local"


@pytest.fixture
def phone(client, auth, user, storage_backend):
    return Phone(client=client, backend=storage_backend, headers=auth(user))


@pytest.fixture
def local_phone(client, auth, user, local_storage):
    return Phone(client=client, backend="local", headers=auth(user))


def stored_size(key: str) -> int | None:
    """Size of ``key`` in the app's current storage backend (None when missing)."""
    from app.platform.storage import get_storage

    return get_storage().head(key)


def served_key(upload_id: int) -> str:
    """The key an upload is served from (clients only ever see the incoming key they POST to)."""
    from app.platform.extensions import db
    from app.uploads.models import Upload

    return db.session.get(Upload, upload_id).storage_key
