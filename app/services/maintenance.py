"""Housekeeping jobs: purge what has outlived its purpose."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import delete

from app.extensions import db
from app.jobs import job
from app.models import IdempotencyKey, utcnow


@job("purge-idempotency-keys", schedule="hourly at :15")
def purge_idempotency_keys() -> dict:
    """Delete stored Idempotency-Key responses older than 24 hours."""
    cutoff = utcnow() - current_app.config["IDEMPOTENCY_KEY_TTL"]
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
    return {"deleted": result.rowcount or 0}
