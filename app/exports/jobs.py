"""Scheduled jobs for exports: remove expired files, and re-send exports the broker never got."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery.schedules import crontab
from sqlalchemy import and_, or_, select, update

from app.exports.models import Export
from app.exports.service import _enqueue_export, abandoned, fail_export
from app.platform.extensions import db
from app.platform.models import utcnow
from app.platform.scheduling import job
from app.platform.storage import StorageUnavailable, get_storage

log = logging.getLogger(__name__)

# A pending export not started this long after it was queued is queued again (the task claims
# an export once, so a copy that was merely slow does nothing).
REQUEUE_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 5
# How often the sweeper looks: an export whose worker died resumes within ABANDONED_AFTER plus
# this (35 s), not after the task's time limit.
SWEEP_EVERY = timedelta(seconds=20)
BATCH = 500


@job("expire-exports", schedule=crontab(minute="30"))
def expire_exports() -> dict:
    """Delete export files past EXPORT_FILE_TTL and mark those exports expired."""
    now = utcnow()
    rows = db.session.execute(
        select(Export.id, Export.storage_key)
        .where(Export.status == "done", Export.expires_at < now)
        .order_by(Export.id)
        .limit(BATCH)
    ).all()
    storage = get_storage()
    expired = 0
    for export_id, key in rows:
        try:
            if key:
                storage.delete(key)
        except StorageUnavailable:
            log.warning("could not delete export file %s; will retry next run", key)
            continue
        db.session.execute(
            update(Export)
            .where(Export.id == export_id, Export.status == "done")
            .values(status="expired", storage_key=None)
            .execution_options(synchronize_session=False)
        )
        expired += 1
    return {"expired": expired}


@job("sweep-exports", schedule=SWEEP_EVERY)
def sweep_exports() -> dict:
    """Re-enqueue pending exports whose task never started, and running ones whose worker died."""
    now = utcnow()
    stale = db.session.execute(
        select(Export.id, Export.attempts)
        .where(
            or_(
                and_(
                    Export.status == "pending",
                    or_(Export.queued_at.is_(None), Export.queued_at < now - REQUEUE_AFTER),
                ),
                and_(Export.status == "running", abandoned(now)),
            )
        )
        .order_by(Export.id)
        .limit(BATCH)
    ).all()
    requeued = failed = 0
    for export_id, attempts in stale:
        if attempts >= MAX_ATTEMPTS:
            fail_export(export_id, "gave up after repeated attempts")
            failed += 1
            continue
        db.session.execute(
            update(Export)
            .where(Export.id == export_id)
            .values(queued_at=now)
            .execution_options(synchronize_session=False)
        )
        _enqueue_export(export_id)
        requeued += 1
    if requeued or failed:
        log.info("export sweep: %s re-enqueued, %s given up", requeued, failed)
    return {"requeued": requeued, "failed": failed}
