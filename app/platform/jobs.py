"""The platform's own housekeeping jobs."""

from __future__ import annotations

from datetime import timedelta

from celery.schedules import crontab
from flask import current_app
from sqlalchemy import delete

from app.platform.extensions import db
from app.platform.models import IdempotencyKey, OutboxMessage, utcnow
from app.platform.queue import relay_due_messages
from app.platform.scheduling import job


@job("purge-idempotency-keys", schedule=crontab(minute="15"))
def purge_idempotency_keys() -> dict:
    """Delete stored Idempotency-Key responses older than 24 hours."""
    cutoff = utcnow() - current_app.config["IDEMPOTENCY_KEY_TTL"]
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
    return {"deleted": result.rowcount or 0}


@job("relay-outbox", schedule=crontab(minute="*"))
def relay_outbox() -> dict:
    """Hand promised tasks the broker has not taken yet to Celery again (backoff; give up late)."""
    return relay_due_messages()


@job("purge-outbox", schedule=crontab(minute="20", hour="3"))
def purge_outbox() -> dict:
    """Delete outbox rows sent more than 7 days ago (failed rows stay for the operator)."""
    cutoff = utcnow() - timedelta(days=7)
    result = db.session.execute(
        delete(OutboxMessage).where(OutboxMessage.status == "sent", OutboxMessage.sent_at < cutoff)
    )
    return {"deleted": result.rowcount or 0}
