"""Celery tasks: the receipt e-mail. The send goes through the outbound ledger, so a rerun sends
nothing twice."""

from __future__ import annotations

from celery import shared_task

from app.payments import service
from app.platform.mail import MAIL_RETRY


@shared_task(
    name="payments.email_receipt",
    acks_late=True,
    soft_time_limit=110,
    time_limit=120,
    **MAIL_RETRY,
)
def email_receipt(payment_id: int) -> bool:
    """E-mail the receipt PDF of one payment to its payer, once (if they opted in)."""
    return service.send_receipt_email(payment_id=payment_id)
