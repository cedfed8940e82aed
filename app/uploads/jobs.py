"""Scheduled jobs (see app.platform.jobs)."""

from __future__ import annotations

from celery.schedules import crontab

from app.platform.scheduling import job
from app.uploads.service import remove_late_incoming, remove_stale_pending


@job("cleanup-uploads", schedule=crontab(minute="45"))
def cleanup_uploads() -> dict:
    """Remove uploads never completed within 24 hours, with their objects."""
    result = remove_stale_pending()
    # Hourly runs over a two-hour window: every expired presigned POST is swept twice.
    result["late_incoming_swept"] = remove_late_incoming()
    return result
