"""Celery tasks: push notifications to a user's devices."""

from __future__ import annotations

from celery import shared_task

from app.devices import service as devices
from app.platform.push import PushFailed


@shared_task(
    name="devices.push_notification",
    acks_late=True,
    soft_time_limit=100,
    time_limit=120,
    autoretry_for=(PushFailed,),
    retry_backoff=15,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def push_notification(notification_id: int, urgent: bool = False) -> int:
    """Push one notification to each of its user's devices, once each."""
    return devices.push_notification(notification_id, urgent=urgent)
