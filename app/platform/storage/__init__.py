"""Object storage behind one interface: S3 (boto3) when ``S3_BUCKET`` is set, local files otherwise.

Clients never name keys and never see credentials: they get a presigned POST to send bytes
straight to storage, and signed GET URLs (at most a few minutes) to read them back. The local
backend serves both through the app itself (``/api/v1/storage/...``) with itsdangerous-signed,
expiring tokens, so the mobile flow is the same on a laptop as against S3.

Anything that cannot reach storage raises :class:`StorageUnavailable` (503 ``storage_unavailable``);
boto3 timeouts and retries are bounded so a hanging endpoint answers within about 8 s.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from flask import current_app

from app.platform.errors import BadRequest, Forbidden, NotFound
from app.platform.storage.base import Storage, StorageUnavailable
from app.platform.storage.local import LocalStorage

__all__ = ["LocalStorage", "Storage", "StorageUnavailable", "get_storage"]

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
                    # Loaded only when S3 is configured: boto3 costs ~65 ms to import here.
                    from app.platform.storage.s3 import S3Storage

                    storage = S3Storage(
                        bucket=bucket,
                        region=config.get("AWS_REGION") or "us-east-1",
                        endpoint_url=config.get("S3_ENDPOINT_URL"),
                    )
                else:
                    storage = LocalStorage(config["LOCAL_STORAGE_PATH"])
                cache[settings] = storage
    return storage


# The local backend's endpoints (``app/uploads/views.py``) ----------------------------------------

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
