"""Retention: the access log is kept ACCESS_LOG_RETENTION_DAYS, then purged (see
app.platform.retention). Safe to run again."""

from __future__ import annotations

from datetime import timedelta

from celery.schedules import crontab
from flask import current_app

from app.platform.models import utcnow
from app.platform.retention import delete_in_batches
from app.platform.scheduling import job
from app.privacy.models import AccessLogEntry


@job("purge-access-log", schedule=crontab(minute="10", hour="3"))
def purge_access_log() -> dict:
    """Delete access-log entries older than ACCESS_LOG_RETENTION_DAYS."""
    cutoff = utcnow() - timedelta(days=current_app.config["ACCESS_LOG_RETENTION_DAYS"])
    return {"deleted": delete_in_batches(AccessLogEntry, AccessLogEntry.created_at < cutoff)}
