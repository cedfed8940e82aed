"""Celery tasks: CSV exports."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import DBAPIError

from app.exports import service as exports
from app.platform.errors import is_connection_error
from app.platform.extensions import db
from app.platform.mail import MAIL_RETRY
from app.platform.storage import StorageUnavailable
from app.platform.transactions import is_retryable, run_in_transaction

log = logging.getLogger(__name__)

MAX_RETRIES = 5
# A copy that finds the export running waits for the heartbeat to go stale this many times
# (a redelivery after its worker died takes over at once; a mere duplicate gives up).
MAX_WAITS = 3


def _is_transient(exc: BaseException) -> bool:
    """Database connection trouble, lock conflicts and unreachable storage are worth a retry."""
    if isinstance(exc, StorageUnavailable):
        return True
    return isinstance(exc, DBAPIError) and (is_connection_error(exc) or is_retryable(exc))


@shared_task(
    bind=True,
    name="exports.run_export",
    acks_late=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=10 * 60,
    time_limit=11 * 60,
)
def run_export(self, export_id: int) -> int | None:
    """Produce one export's CSV file; safe to run twice (the second run finds it done)."""
    # Committed at once, so the client sees ``running`` and a duplicate delivery backs off.
    attempt = run_in_transaction(lambda: exports.claim_export(export_id))
    if attempt is None:
        if exports.is_running(export_id) and self.request.retries < MAX_WAITS:
            # Redelivered because its worker died (acks_late, reject_on_worker_lost): the
            # heartbeat is still fresh; claim it once the heartbeat has stopped.
            countdown = exports.ABANDONED_AFTER.total_seconds() + exports.HEARTBEAT_SECONDS
            raise self.retry(countdown=countdown, max_retries=MAX_RETRIES + MAX_WAITS)
        log.info("export %s is not pending; nothing to do", export_id)
        return None
    try:
        return exports.produce_export(export_id, attempt)
    except SoftTimeLimitExceeded:
        db.session.rollback()
        run_in_transaction(lambda: exports.fail_export(export_id, "timed out"))
        return None
    except Exception as exc:
        db.session.rollback()
        reason = f"{type(exc).__name__}: {exc}"
        if _is_transient(exc) and self.request.retries < MAX_RETRIES:
            log.warning("export %s hit a transient error, retrying: %s", export_id, reason)
            run_in_transaction(lambda: exports.requeue_export(export_id, reason))
            raise self.retry(exc=exc, countdown=min(600, 10 * 2**self.request.retries)) from exc
        log.exception("export %s failed", export_id)
        short = _short(exc)
        run_in_transaction(lambda: exports.fail_export(export_id, short))
        return None


def _short(exc: BaseException) -> str:
    if isinstance(exc, StorageUnavailable):
        return "storage unavailable"
    return f"internal error ({type(exc).__name__})"


@shared_task(
    name="mail.send_export_email", acks_late=True, soft_time_limit=100, time_limit=120, **MAIL_RETRY
)
def send_export_email(export_id: int) -> bool:
    """E-mail the download link of a finished export to its owner, once."""
    return exports.send_export_email(export_id)
