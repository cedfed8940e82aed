"""Photos: direct uploads to storage, verification, signed read URLs and clean-up.

A client asks for an upload (purpose, content type, size), sends the bytes straight to storage
with the presigned POST it gets back, then asks us to complete it: the object must exist, be no
larger than declared, and start with the signature of the declared image type. Only ``ready``
uploads can be attached (to a parking event, a landmark or the avatar), and only by their owner.

Two keys per upload, both ``users/<user_id>/<purpose>/<uuid>.<ext>``: the presigned POST writes
the *incoming* key, derived from ``storage_key``; completing copies it to ``storage_key`` and
verifies that copy. A presigned POST cannot be revoked, so a client could overwrite the incoming
object after it was verified; the copy it can never write to is the one that is served.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app.platform.errors import Conflict, NotFound, ValidationFailed
from app.platform.extensions import db
from app.platform.models import get_owned_or_404, utcnow
from app.platform.queue import enqueue
from app.platform.storage import StorageUnavailable, get_storage
from app.uploads.models import CONTENT_TYPES, UPLOAD_PURPOSES, Upload

log = logging.getLogger(__name__)

MAX_UPLOAD_URL_SECONDS = 10 * 60
MAX_PHOTO_URL_SECONDS = 5 * 60
SIGNATURE_BYTES = 12
INCOMING_NAMESPACE = uuid.UUID("0b6f3c57-5d0e-4f7a-9a43-6f1f0c2d7e11")


def sniff_image_type(head: bytes) -> str | None:
    """The image content type the first bytes announce (JPEG, PNG or WebP), else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def incoming_key(storage_key: str) -> str:
    """The key the presigned POST writes to, derived from (and beside) the served key."""
    prefix, _, name = storage_key.rpartition("/")
    ext = name.rpartition(".")[2]
    return f"{prefix}/{uuid.uuid5(INCOMING_NAMESPACE, storage_key).hex}.{ext}"


def _seconds(setting: str, ceiling: int) -> int:
    value = current_app.config.get(setting) or timedelta(seconds=ceiling)
    seconds = int(value.total_seconds()) if isinstance(value, timedelta) else int(value)
    return max(1, min(seconds, ceiling))


class InvalidFile(ValidationFailed):
    """The stored object is not the image that was announced: the upload is marked deleted, and
    that change stays."""

    code = "invalid_file"


def _invalid_file(message: str) -> InvalidFile:
    return InvalidFile(message)


def create_upload(*, user_id: int, purpose: str, content_type: str, size_bytes: int):
    """Record a pending upload under a server-chosen key and return it with a presigned POST."""
    max_bytes = int(current_app.config["UPLOAD_MAX_BYTES"])
    errors: dict[str, list[str]] = {}
    if purpose not in UPLOAD_PURPOSES:
        errors["purpose"] = [f"Must be one of: {', '.join(UPLOAD_PURPOSES)}."]
    if content_type not in CONTENT_TYPES:
        errors["content_type"] = [f"Must be one of: {', '.join(CONTENT_TYPES)}."]
    if not isinstance(size_bytes, int) or not 1 <= size_bytes <= max_bytes:
        errors["size_bytes"] = [f"Must be between 1 and {max_bytes} bytes."]
    if errors:
        raise ValidationFailed(fields=errors)
    key = f"users/{user_id}/{purpose}/{uuid.uuid4().hex}.{CONTENT_TYPES[content_type]}"
    expires_seconds = _seconds("UPLOAD_URL_EXPIRES", MAX_UPLOAD_URL_SECONDS)
    post = get_storage().presigned_post(
        incoming_key(key), content_type, size_bytes, expires_seconds
    )
    upload = Upload(
        user_id=user_id,
        purpose=purpose,
        content_type=content_type,
        size_bytes=size_bytes,
        storage_key=key,
        status="pending",
        created_at=utcnow(),
        expires_at=post["expires_at"],
    )
    db.session.add(upload)
    db.session.flush()
    return upload, post


def _owned_upload(user_id: int, upload_id: int, *, lock: bool = False) -> Upload:
    return get_owned_or_404(
        Upload,
        upload_id,
        owner_id=user_id,
        where=(Upload.status != "deleted",),
        lock=lock,
        error=NotFound("No such upload.", code="upload_not_found"),
    )


def get_upload(*, user_id: int, upload_id: int) -> Upload:
    """One of the user's uploads (with ``photo_url`` once ready), or 404."""
    return _with_photo_url(_owned_upload(user_id, upload_id))


def _with_photo_url(upload: Upload) -> Upload:
    """``upload`` with ``photo_url``: a signed, short-lived link once it is ready, else None."""
    upload.photo_url = _signed_url(upload) if upload.status == "ready" else None
    return upload


def _reject(upload: Upload, message: str) -> ValidationFailed:
    storage = get_storage()
    storage.delete(incoming_key(upload.storage_key))
    storage.delete(upload.storage_key)
    upload.status = "deleted"
    db.session.flush()
    log.info("upload %s rejected: %s", upload.id, message)
    return _invalid_file(message)


def complete_upload(*, user_id: int, upload_id: int) -> Upload:
    """Check the stored object (exists, size, image signature); ready it or delete it (422)."""
    upload = _owned_upload(user_id, upload_id)
    if upload.status == "ready":
        return _with_photo_url(upload)
    storage = get_storage()
    incoming = incoming_key(upload.storage_key)
    max_bytes = min(upload.size_bytes, int(current_app.config["UPLOAD_MAX_BYTES"]))
    size = storage.head(incoming)
    if size is None:
        # Nothing to check yet, nothing deleted: the upload stays pending and the client may
        # still send the file while its presigned POST is valid.
        raise Conflict("No file has been uploaded yet.", code="file_not_uploaded")
    if not 1 <= size <= max_bytes:
        raise _reject(upload, "The file is larger than declared or empty.")
    # Verify the copy, not the original: the client can still write to the incoming key.
    storage.copy(incoming, upload.storage_key)
    size = storage.head(upload.storage_key) or 0
    if not 1 <= size <= max_bytes:
        raise _reject(upload, "The file is larger than declared or empty.")
    detected = sniff_image_type(storage.read_prefix(upload.storage_key, SIGNATURE_BYTES))
    if detected is None:
        raise _reject(upload, "The file is not a JPEG, PNG or WebP image.")
    if detected != upload.content_type:
        raise _reject(upload, f"The file is {detected}, not {upload.content_type} as declared.")
    storage.delete(incoming)
    upload.status = "ready"
    upload.size_bytes = size
    upload.completed_at = utcnow()
    db.session.flush()
    return _with_photo_url(upload)


def ready_upload(
    *, user_id: int, upload_id: int, purposes: tuple[str, ...], field: str = "upload_id"
) -> Upload:
    """The owner's ready, unused upload for one of ``purposes``, now attached to what asked for
    it: 404, 409 not ready or already used elsewhere, 422 wrong purpose."""
    # Locked: of two requests attaching one photo at once, one wins.
    upload = _owned_upload(user_id, upload_id, lock=True)
    if upload.status != "ready":
        raise Conflict("This upload has not been completed.", code="upload_not_ready")
    if upload.purpose not in purposes:
        raise ValidationFailed(
            fields={field: [f"This upload is for {upload.purpose}, not {' or '.join(purposes)}."]}
        )
    if upload.attached_at is not None:
        raise Conflict("This photo is already used elsewhere.", code="upload_in_use")
    upload.attached_at = utcnow()
    return upload


def _signed_url(upload: Upload) -> str | None:
    seconds = _seconds("DOWNLOAD_URL_EXPIRES", MAX_PHOTO_URL_SECONDS)
    try:
        return get_storage().signed_get_url(
            upload.storage_key, seconds, content_type=upload.content_type
        )
    except StorageUnavailable:
        # A photo link that cannot be signed must not break the response that shows it.
        log.warning("could not sign a URL for upload %s", upload.id)
        return None


def photo_url(upload_id: int | None) -> str | None:
    """A signed GET (≤ 5 minutes) for a ready upload; None when there is none."""
    if upload_id is None:
        return None
    upload = db.session.get(Upload, upload_id)
    if upload is None or upload.status != "ready":
        return None
    return _signed_url(upload)


def photo_urls(upload_ids: Iterable[int | None]) -> dict[int, str]:
    """Signed GETs for many uploads at once (one query), keyed by upload id."""
    ids = {upload_id for upload_id in upload_ids if upload_id is not None}
    if not ids:
        return {}
    uploads = db.session.scalars(
        select(Upload).where(Upload.id.in_(ids), Upload.status == "ready")
    ).all()
    urls = {}
    for upload in uploads:
        url = _signed_url(upload)
        if url is not None:
            urls[upload.id] = url
    return urls


def discard_uploads(upload_ids: Iterable[int | None]) -> None:
    """Mark uploads deleted; their objects are removed in the background after the commit."""
    ids = {upload_id for upload_id in upload_ids if upload_id is not None}
    if not ids:
        return
    uploads = db.session.scalars(
        select(Upload).where(Upload.id.in_(ids), Upload.status != "deleted")
    ).all()
    keys = []
    for upload in uploads:
        upload.status = "deleted"
        keys.append(upload.storage_key)
        if upload.expires_at > utcnow():
            keys.append(incoming_key(upload.storage_key))
    db.session.flush()
    if keys:
        enqueue("tasks.uploads.delete_objects", keys)


def delete_objects(keys: Iterable[str]) -> int:
    """Remove objects from storage (idempotent); raises StorageUnavailable to be retried."""
    storage = get_storage()
    count = 0
    for key in keys:
        storage.delete(key)
        count += 1
    return count


def remove_stale_pending(*, older_than: timedelta = timedelta(hours=24), batch: int = 500) -> dict:
    """Delete the objects and retire the rows of uploads never completed within ``older_than``."""
    cutoff = utcnow() - older_than
    stale = db.session.scalars(
        select(Upload)
        .where(Upload.status == "pending", Upload.created_at < cutoff)
        .order_by(Upload.id)
        .limit(batch)
    ).all()
    storage = get_storage()
    removed = 0
    for upload in stale:
        try:
            storage.delete(incoming_key(upload.storage_key))
            storage.delete(upload.storage_key)
        except StorageUnavailable:
            log.warning("cleanup-uploads: storage unavailable; %s left for the next run", upload.id)
            break
        upload.status = "deleted"
        removed += 1
    db.session.flush()
    return {"stale": len(stale), "removed": removed}


def remove_late_incoming(*, window: timedelta = timedelta(hours=2), batch: int = 5000) -> int:
    """Delete what clients sent again after completing, once their presigned POST has expired."""
    now = utcnow()
    keys = db.session.scalars(
        select(Upload.storage_key)
        .where(
            Upload.status == "ready",
            Upload.expires_at <= now,
            Upload.expires_at > now - window,
        )
        .order_by(Upload.id)
        .limit(batch)
    ).all()
    storage = get_storage()
    swept = 0
    for key in keys:
        try:
            storage.delete(incoming_key(key))
        except StorageUnavailable:
            log.warning("cleanup-uploads: storage unavailable; incoming objects left")
            break
        swept += 1
    return swept


def stored_photos(*, user_id: int) -> list[tuple[int, str, str, str]]:
    """The person's photos in storage: ``(upload id, purpose, file extension, storage key)``."""
    rows = db.session.execute(
        select(Upload.id, Upload.purpose, Upload.content_type, Upload.storage_key)
        .where(Upload.user_id == user_id, Upload.status == "ready")
        .order_by(Upload.id)
    )
    return [(i, purpose, CONTENT_TYPES.get(ctype, "bin"), key) for i, purpose, ctype, key in rows]
