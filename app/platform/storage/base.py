"""What every storage backend shares: the interface, its error and small helpers."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import IO, Any, Protocol, runtime_checkable

from app.platform.errors import AppError
from app.platform.models import utcnow

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
POST_SALT = "parkmind-storage-post"
GET_SALT = "parkmind-storage-get"


class StorageUnavailable(AppError):
    """Object storage could not be reached or answered with an error."""

    status, code = 503, "storage_unavailable"
    message = "File storage is unavailable; retry shortly."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": "5"})
        super().__init__(message, **kwargs)


@runtime_checkable
class Storage(Protocol):
    """What the rest of ParkMind may ask of object storage. Keys are chosen by the server."""

    def presigned_post(
        self, key: str, content_type: str, max_bytes: int, expires_seconds: int
    ) -> dict:
        """A direct upload: ``{method, url, fields, headers?, expires_at}`` (POST multipart)."""
        ...

    def head(self, key: str) -> int | None:
        """The object's size in bytes, or None when there is no such object."""
        ...

    def read_prefix(self, key: str, n: int) -> bytes:
        """The first ``n`` bytes of the object (fewer when it is shorter)."""
        ...

    def read(self, key: str) -> bytes:
        """The whole object."""
        ...

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key``."""
        ...

    def put_file(self, key: str, path_or_fileobj: str | os.PathLike | IO[bytes], content_type: str):
        """Store a file (a path or a binary file object) under ``key``; large files in parts."""
        ...

    def copy(self, source_key: str, target_key: str) -> None:
        """Copy an object inside storage (server-side on S3)."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; deleting a missing object is not an error."""
        ...

    def signed_get_url(
        self,
        key: str,
        expires_seconds: int,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        outside_request: bool = False,
    ) -> str:
        """A URL anyone holding it can GET for ``expires_seconds``; ``filename`` → attachment.
        ``outside_request``: the link leaves the app (an e-mail), so it names PUBLIC_BASE_URL
        even while a request is being served."""
        ...

    def open_stream(self, key: str) -> Iterator[bytes]:
        """The object as an iterator of chunks."""
        ...


def expires_at(expires_seconds: int) -> datetime:
    return utcnow() + timedelta(seconds=expires_seconds)


def content_disposition(filename: str) -> str:
    safe = "".join(ch for ch in filename if ch.isalnum() or ch in "._- ") or "download"
    return f'attachment; filename="{safe}"'
