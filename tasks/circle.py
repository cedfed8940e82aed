"""Celery tasks: care-circle alerts. Each loads what it needs by id and is safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="circle.deliver_assist_alert")
def deliver_assist_alert(assist_id: int) -> int:
    """Notify every accepted caregiver of an assist request (in-app, e-mail, webhook), once."""
    from app.services.circle import deliver_assist_alert as deliver

    return deliver(assist_id)
