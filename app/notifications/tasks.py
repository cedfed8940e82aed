"""Celery tasks: notices by e-mail."""

from __future__ import annotations

from celery import shared_task

from app.notifications import service as notifications
from app.platform.mail import MAIL_RETRY


@shared_task(
    name="notifications.email_notice",
    acks_late=True,
    soft_time_limit=100,
    time_limit=120,
    **MAIL_RETRY,
)
def email_notice(notification_id: int) -> bool:
    """E-mail an in-app notice to its recipient, once (SMTP trouble is retried)."""
    return notifications.email_notice(notification_id)
