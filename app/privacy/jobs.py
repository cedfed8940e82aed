"""Retention: the access log is kept ACCESS_LOG_RETENTION_DAYS, then purged (see
app.platform.jobs). Each run deletes in batches and is safe to repeat."""

from __future__ import annotations

from datetime import timedelta

from celery.schedules import crontab
from flask import current_app
from sqlalchemy import delete, select

from app.platform.extensions import db
from app.platform.models import utcnow
from app.platform.scheduling import job
from app.privacy.models import AccessLogEntry

BATCH = 5000


@job("purge-access-log", schedule=crontab(minute="10", hour="3"))
def purge_access_log() -> dict:
    """Delete access-log entries older than ACCESS_LOG_RETENTION_DAYS."""
    cutoff = utcnow() - timedelta(days=current_app.config["ACCESS_LOG_RETENTION_DAYS"])
    deleted = 0
    while True:
        ids = db.session.scalars(
            select(AccessLogEntry.id).where(AccessLogEntry.created_at < cutoff).limit(BATCH)
        ).all()
        if not ids:
            return {"deleted": deleted}
        db.session.execute(
            delete(AccessLogEntry)
            .where(AccessLogEntry.id.in_(ids))
            .execution_options(synchronize_session=False)
        )
        deleted += len(ids)
