"""Celery tasks: e-mail. Every send goes through the outbound ledger, so a rerun sends nothing."""

from __future__ import annotations

import smtplib

from celery import shared_task

MAIL_RETRY = {
    "autoretry_for": (smtplib.SMTPException, OSError),
    "retry_backoff": 30,
    "retry_backoff_max": 1800,
    "retry_jitter": True,
    "max_retries": 6,
}


@shared_task(
    name="mail.send_export_email", acks_late=True, soft_time_limit=100, time_limit=120, **MAIL_RETRY
)
def send_export_email(export_id: int) -> bool:
    """E-mail the download link of a finished export to its owner, once."""
    from app.services.exports import send_export_email as send

    return send(export_id)


@shared_task(
    name="mail.send_monthly_report",
    acks_late=True,
    soft_time_limit=270,
    time_limit=300,
    **MAIL_RETRY,
)
def send_monthly_report(user_id: int, month: str) -> bool:
    """E-mail one user's monthly report (HTML with the PDF attached) for ``YYYY-MM``, once."""
    from app.services.reports import send_monthly_report as send

    return send(user_id, month)
