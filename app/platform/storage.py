"""Object storage behind one interface: S3 (boto3) when ``S3_BUCKET`` is set, local files otherwise.

Clients never name keys and never see credentials: they get a presigned POST to send bytes
straight to storage, and signed GET URLs (at most a few minutes) to read them back. The local
backend serves both through the app itself (``/api/v1/storage/...``) with itsdangerous-signed,
expiring tokens, so the mobile flow is the same on a laptop as against S3.

Anything that cannot reach storage raises :class:`StorageUnavailable` (503 ``storage_unavailable``);
boto3 timeouts and retries are bounded so a hanging endpoint answers within about 8 s.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from app.platform.errors import AppError, BadRequest, Forbidden, NotFound
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
    ) -> str:
        """A URL anyone holding it can GET for ``expires_seconds``; ``filename`` → attachment."""
        ...

    def open_stream(self, key: str) -> Iterator[bytes]:
        """The object as an iterator of chunks."""
        ...


def _expires_at(expires_seconds: int) -> datetime:
    return utcnow() + timedelta(seconds=expires_seconds)


def _content_disposition(filename: str) -> str:
    safe = "".join(ch for ch in filename if ch.isalnum() or ch in "._- ") or "download"
    return f'attachment; filename="{safe}"'


# --------------------------------------------------------------------------------------------
# S3


class S3Storage:
    """A bucket reached through one cached boto3 client (clients are thread-safe)."""

    def __init__(self, *, bucket: str, region: str, endpoint_url: str | None = None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        config = Config(
            signature_version="s3v4",
            connect_timeout=2,
            read_timeout=3,
            # Two attempts in all: botocore's ``max_attempts`` counts retries *after* the first
            # try (2 would mean 3 x 3 s against a silent endpoint, past the 8 s budget).
            retries={"total_max_attempts": 2, "mode": "standard"},
        )
        # Credentials come from the standard AWS chain (env, profile, instance role).
        try:
            self._session = session = boto3.session.Session()
            self.client = session.client(
                "s3", region_name=region, endpoint_url=endpoint_url, config=config
            )
        except Exception as exc:  # a bad endpoint URL or region: storage is down, not the API
            log.error("cannot build the S3 client: %s", exc)
            raise StorageUnavailable() from exc

    def _require_credentials(self) -> None:
        # Presigning happens locally; without credentials botocore fails with an AttributeError.
        if self._session.get_credentials() is None:
            log.error("no AWS credentials found in the standard chain")
            raise StorageUnavailable()

    def _call(self, operation: str, **params: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **params)
        except ClientError:
            raise
        except BotoCoreError as exc:
            log.warning("storage %s failed: %s", operation, exc)
            raise StorageUnavailable() from exc

    @staticmethod
    def _status(exc: Exception) -> int:
        return int(
            getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        )

    def _unavailable(self, operation: str, exc: Exception) -> StorageUnavailable:
        log.warning("storage %s failed: %s", operation, exc)
        return StorageUnavailable()

    def presigned_post(
        self, key: str, content_type: str, max_bytes: int, expires_seconds: int
    ) -> dict:
        """A presigned POST with ``content-length-range`` and ``Content-Type`` conditions."""
        from botocore.exceptions import BotoCoreError

        self._require_credentials()
        try:
            post = self.client.generate_presigned_post(
                Bucket=self.bucket,
                Key=key,
                Fields={"Content-Type": content_type},
                Conditions=[
                    {"Content-Type": content_type},
                    ["content-length-range", 1, int(max_bytes)],
                ],
                ExpiresIn=int(expires_seconds),
            )
        except BotoCoreError as exc:  # no credentials, for example
            raise self._unavailable("presigned_post", exc) from exc
        return {
            "method": "POST",
            "url": post["url"],
            "fields": post["fields"],
            "expires_at": _expires_at(expires_seconds),
        }

    def head(self, key: str) -> int | None:
        """Size of the object, or None when missing."""
        from botocore.exceptions import ClientError

        try:
            response = self._call("head_object", Key=key)
        except ClientError as exc:
            if self._status(exc) == 404:
                return None
            raise self._unavailable("head_object", exc) from exc
        return int(response["ContentLength"])

    def _get(self, key: str, **params: Any) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._call("get_object", Key=key, **params)
            return response["Body"].read()
        except ClientError as exc:
            if self._status(exc) == 416:  # range on an empty object
                return b""
            raise self._unavailable("get_object", exc) from exc
        except BotoCoreError as exc:  # a read timeout while streaming the body
            raise self._unavailable("get_object", exc) from exc

    def read_prefix(self, key: str, n: int) -> bytes:
        """First ``n`` bytes through a ranged GET."""
        return self._get(key, Range=f"bytes=0-{max(n, 1) - 1}")[:n]

    def read(self, key: str) -> bytes:
        """The whole object."""
        return self._get(key)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        """One PUT."""
        from botocore.exceptions import ClientError

        try:
            self._call("put_object", Key=key, Body=data, ContentType=content_type)
        except ClientError as exc:
            raise self._unavailable("put_object", exc) from exc

    def put_file(self, key: str, path_or_fileobj: str | os.PathLike | IO[bytes], content_type: str):
        """Managed transfer: multipart above boto3's threshold."""
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError

        extra = {"ContentType": content_type}
        try:
            if isinstance(path_or_fileobj, str | os.PathLike):
                self.client.upload_file(
                    os.fspath(path_or_fileobj), self.bucket, key, ExtraArgs=extra
                )
            else:
                self.client.upload_fileobj(path_or_fileobj, self.bucket, key, ExtraArgs=extra)
        except (BotoCoreError, ClientError, S3UploadFailedError) as exc:
            raise self._unavailable("upload", exc) from exc

    def copy(self, source_key: str, target_key: str) -> None:
        """Server-side copy; the bytes never pass through the app."""
        from botocore.exceptions import ClientError

        try:
            self._call(
                "copy_object",
                Key=target_key,
                CopySource={"Bucket": self.bucket, "Key": source_key},
                MetadataDirective="COPY",
            )
        except ClientError as exc:
            raise self._unavailable("copy_object", exc) from exc

    def delete(self, key: str) -> None:
        """S3 deletes are idempotent already."""
        from botocore.exceptions import ClientError

        try:
            self._call("delete_object", Key=key)
        except ClientError as exc:
            if self._status(exc) == 404:
                return
            raise self._unavailable("delete_object", exc) from exc

    def signed_get_url(
        self,
        key: str,
        expires_seconds: int,
        *,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> str:
        """A presigned GET (SigV4, computed locally: no request to S3)."""
        from botocore.exceptions import BotoCoreError

        params: dict[str, str] = {"Bucket": self.bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = _content_disposition(filename)
        if content_type:
            params["ResponseContentType"] = content_type
        self._require_credentials()
        try:
            return self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=int(expires_seconds)
            )
        except BotoCoreError as exc:
            raise self._unavailable("presign_get", exc) from exc

    def open_stream(self, key: str) -> Iterator[bytes]:
        """Chunks of the object."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self._call("get_object", Key=key)["Body"]
        except ClientError as exc:
            raise self._unavailable("get_object", exc) from exc

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(CHUNK_BYTES)
            except BotoCoreError as exc:
                raise self._unavailable("get_object", exc) from exc
            finally:
                body.close()

        return chunks()


# --------------------------------------------------------------------------------------------
# Local files


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
    def _external_url(endpoint: str, **values: Any) -> str:
        if has_request_context():
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
        expires_at = _expires_at(expires_seconds)
        policy = {"k": key, "t": content_type, "m": int(max_bytes), "e": expires_at.timestamp()}
        return {
            "method": "POST",
            "url": self._external_url("uploads.LocalUpload"),
            "fields": {
                "key": key,
                "Content-Type": content_type,
                "policy": self._serializer(POST_SALT).dumps(policy),
            },
            "expires_at": expires_at,
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
    ) -> str:
        """An expiring link to the app's own download endpoint."""
        payload: dict[str, Any] = {"k": key, "e": _expires_at(expires_seconds).timestamp()}
        if filename:
            payload["f"] = filename
        if content_type:
            payload["t"] = content_type
        token = self._serializer(GET_SALT).dumps(payload)
        return self._external_url("uploads.LocalDownload", token=token)

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


# --------------------------------------------------------------------------------------------

_lock = threading.Lock()


def get_storage() -> Storage:
    """The app's storage backend: S3 when ``S3_BUCKET`` is set, else local files. Cached per app."""
    config = current_app.config
    bucket = config.get("S3_BUCKET")
    if bucket:
        settings: tuple = ("s3", bucket, config.get("AWS_REGION"), config.get("S3_ENDPOINT_URL"))
    else:
        settings = ("local", config["LOCAL_STORAGE_PATH"])
    cache = current_app.extensions.setdefault("parkmind_storage", {})
    storage = cache.get(settings)
    if storage is None:
        # boto3 client creation is not thread-safe; build each backend once per app.
        with _lock:
            storage = cache.get(settings)
            if storage is None:
                if bucket:
                    storage = S3Storage(
                        bucket=bucket,
                        region=config.get("AWS_REGION") or "us-east-1",
                        endpoint_url=config.get("S3_ENDPOINT_URL"),
                    )
                else:
                    storage = LocalStorage(config["LOCAL_STORAGE_PATH"])
                cache[settings] = storage
    return storage


# --------------------------------------------------------------------------------------------
# The local backend's endpoints (app/api/uploads.py): the app plays the part of S3.

FORM_OVERHEAD_BYTES = 64 * 1024


def _local_storage() -> LocalStorage:
    storage = get_storage()
    if not isinstance(storage, LocalStorage):
        raise NotFound("Files are served by object storage, not by this app.")
    return storage


def receive_local_post(req: Any) -> str:
    """Accept a presigned POST to local storage after checking its signed policy; the key."""
    storage = _local_storage()
    # The limit must be raised before the body is parsed: photos are larger than JSON bodies.
    req.max_content_length = int(current_app.config["UPLOAD_MAX_BYTES"]) + FORM_OVERHEAD_BYTES
    form, files = req.form, req.files
    policy = storage.verify_post_policy(form.get("policy", ""))
    if form.get("key") != policy["k"]:
        raise Forbidden("The key does not match the policy.", code="policy_condition_failed")
    if form.get("Content-Type") != policy["t"]:
        raise Forbidden(
            "The content type does not match the policy.", code="policy_condition_failed"
        )
    upload = files.get("file")
    if upload is None:
        raise BadRequest("A multipart part named 'file' is required.", code="file_missing")
    stream = upload.stream
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    if not 1 <= size <= policy["m"]:
        raise BadRequest("The file size is outside the allowed range.", code="entity_too_large")
    storage.put_file(policy["k"], stream, policy["t"])
    return policy["k"]


def local_download(token: str) -> dict:
    """``send_file`` arguments for a signed local download link (403 when expired or forged)."""
    storage = _local_storage()
    payload = storage.verify_get_token(token)
    path = storage.path_for(payload["k"])
    if not path.is_file():
        raise NotFound("This file no longer exists.", code="file_not_found")
    return {
        "path_or_file": path,
        "mimetype": payload.get("t") or "application/octet-stream",
        "as_attachment": bool(payload.get("f")),
        "download_name": payload.get("f") or path.name,
        "max_age": 0,
        "conditional": True,
    }
