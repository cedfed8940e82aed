"""Celery tasks: uploads."""

from __future__ import annotations

import logging

from celery import shared_task

from app.platform.storage import StorageUnavailable
from app.uploads import service as uploads

log = logging.getLogger(__name__)

MAX_RETRIES = 8


# The name it had before tasks moved beside their domains: messages already queued still run.
@shared_task(
    bind=True, name="tasks.uploads.delete_objects", max_retries=MAX_RETRIES, acks_late=True
)
def delete_objects(self, keys: list[str]) -> int:
    """Remove these objects from storage; safe to run twice, retried with backoff while down."""
    try:
        return uploads.delete_objects(keys)
    except StorageUnavailable as exc:
        if self.request.is_eager:
            # In-process (no broker) a retry would block the request that sent it; the objects
            # stay until the next delete of the same keys.
            log.warning("storage unavailable; %d objects not deleted", len(keys))
            return 0
        raise self.retry(exc=exc, countdown=min(600, 10 * 2**self.request.retries)) from exc
