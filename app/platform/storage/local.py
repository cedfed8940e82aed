"""Local files: the app plays the part of S3, with itsdangerous-signed, expiring tokens."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from app.platform.errors import Forbidden
from app.platform.models import utcnow
from app.platform.storage.base import (
    CHUNK_BYTES,
    GET_SALT,
    POST_SALT,
    StorageUnavailable,
    expires_at,
)

log = logging.getLogger(__name__)


class LocalStorage:
    """Files under a directory, uploaded and downloaded through the app with signed tokens.

    Upload: ``POST /api/v1/storage/uploads`` as ``multipart/form-data`` with every returned
    ``fields`` entry plus the bytes in a part named ``file`` (exactly like an S3 presigned POST).
    Download: ``GET /api/v1/storage/files/<token>``; an expired or forged token is a 403.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).resolve()

    # -- signing ---------------------------------------------------------------------------

    @staticmethod
    def _serializer(salt: str) -> URLSafeSerializer:
        return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)

    @staticmethod
    def _external_url(endpoint: str, *, outside_request: bool = False, **values: Any) -> str:
        if has_request_context() and not outside_request:
            return url_for(endpoint, _external=True, **values)
        base = urlsplit(current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000")
        adapter = current_app.url_map.bind(
            base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http"
        )
        return adapter.build(endpoint, values, force_external=True)

    def _load(self, token: str, salt: str) -> dict:
        try:
            payload = self._serializer(salt).loads(token)
        except BadSignature as exc:
            raise Forbidden("This link is not valid.", code="invalid_signature") from exc
        if not isinstance(payload, dict) or payload.get("e", 0) < utcnow().timestamp():
            raise Forbidden("This link has expired.", code="signature_expired")
        return payload

    def verify_post_policy(self, token: str) -> dict:
        """The upload policy signed into ``token``: ``{k: key, t: content type, m: max bytes}``."""
        return self._load(token, POST_SALT)

    def verify_get_token(self, token: str) -> dict:
        """The download signed into ``token``: ``{k: key, t: content type?, f: filename?}``."""
        return self._load(token, GET_SALT)

    # -- files -----------------------------------------------------------------------------

    def path_for(self, key: str) -> Path:
        """Where ``key`` lives on disk (never outside the storage root)."""
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"storage key escapes the storage root: {key!r}")
        return path

    def presigned_post(
        self, key: str, content_type: str, max_bytes: int, expires_seconds: int
    ) -> dict:
        """A signed policy for the app's own upload endpoint, same shape as S3's."""
        expires = expires_at(expires_seconds)
        policy = {"k": key, "t": content_type, "m": int(max_bytes), "e": expires.timestamp()}
        return {
            "method": "POST",
            "url": self._external_url("uploads.LocalUpload"),
            "fields": {
                "key": key,
                "Content-Type": content_type,
                "policy": self._serializer(POST_SALT).dumps(policy),
            },
            "expires_at": expires,
        }

    def head(self, key: str) -> int | None:
        """Size of the file, or None."""
        try:
            return self.path_for(key).stat().st_size
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._unavailable("stat", exc) from exc

    def read_prefix(self, key: str, n: int) -> bytes:
        """First ``n`` bytes."""
        try:
            with self.path_for(key).open("rb") as handle:
                return handle.read(n)
        except OSError as exc:
            raise self._unavailable("read", exc) from exc

    def read(self, key: str) -> bytes:
        """The whole file."""
        try:
            return self.path_for(key).read_bytes()
        except OSError as exc:
            raise self._unavailable("read", exc) from exc

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        """Write atomically (temp file, then rename)."""
        self.put_file(key, _BytesReader(data), content_type)

    def put_file(self, key: str, path_or_fileobj: str | os.PathLike | IO[bytes], content_type: str):
        """Copy a path or file object into place atomically."""
        target = self.path_for(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as out:
                    if isinstance(path_or_fileobj, str | os.PathLike):
                        with open(path_or_fileobj, "rb") as src:
                            shutil.copyfileobj(src, out, CHUNK_BYTES)
                    else:
                        shutil.copyfileobj(path_or_fileobj, out, CHUNK_BYTES)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise self._unavailable("write", exc) from exc

    def copy(self, source_key: str, target_key: str) -> None:
        """Copy a file atomically."""
        self.put_file(target_key, self.path_for(source_key), "")

    def delete(self, key: str) -> None:
        """Remove the file if present."""
        try:
            self.path_for(key).unlink(missing_ok=True)
        except OSError as exc:
            raise self._unavailable("delete", exc) from exc

    def signed_get_url(
        self,
        key: str,
        expires_seconds: int,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        outside_request: bool = False,
    ) -> str:
        """An expiring link to the app's own download endpoint."""
        payload: dict[str, Any] = {"k": key, "e": expires_at(expires_seconds).timestamp()}
        if filename:
            payload["f"] = filename
        if content_type:
            payload["t"] = content_type
        token = self._serializer(GET_SALT).dumps(payload)
        return self._external_url(
            "uploads.LocalDownload", outside_request=outside_request, token=token
        )

    def open_stream(self, key: str) -> Iterator[bytes]:
        """Chunks of the file."""
        try:
            handle = self.path_for(key).open("rb")
        except OSError as exc:
            raise self._unavailable("read", exc) from exc

        def chunks() -> Iterator[bytes]:
            with handle:
                while chunk := handle.read(CHUNK_BYTES):
                    yield chunk

        return chunks()

    @staticmethod
    def _unavailable(operation: str, exc: Exception) -> StorageUnavailable:
        log.warning("local storage %s failed: %s", operation, exc)
        return StorageUnavailable()


class _BytesReader:
    """A minimal binary reader over bytes (avoids copying into BytesIO for large exports)."""

    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else self._pos + size
        chunk = self._view[self._pos : end].tobytes()
        self._pos += len(chunk)
        return chunk
