"""Celery tasks: the monthly report e-mail. The send goes through the outbound ledger, so a rerun
sends nothing twice."""

from __future__ import annotations

from celery import shared_task

from app.platform.mail import MAIL_RETRY
from app.reports import service


@shared_task(
    name="mail.send_monthly_report",
    acks_late=True,
    soft_time_limit=270,
    time_limit=300,
    **MAIL_RETRY,
)
def send_monthly_report(user_id: int, month: str) -> bool:
    """E-mail one user's monthly report (HTML with the PDF attached) for ``YYYY-MM``, once."""
    return service.send_monthly_report(user_id, month)
