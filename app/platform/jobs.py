"""The platform's own housekeeping jobs."""

from __future__ import annotations

from celery.schedules import crontab
from flask import current_app
from sqlalchemy import delete

from app.platform.extensions import db
from app.platform.models import IdempotencyKey, utcnow
from app.platform.scheduling import job


@job("purge-idempotency-keys", schedule=crontab(minute="15"))
def purge_idempotency_keys() -> dict:
    """Delete stored Idempotency-Key responses older than 24 hours."""
    cutoff = utcnow() - current_app.config["IDEMPOTENCY_KEY_TTL"]
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
    return {"deleted": result.rowcount or 0}
