"""Payments: recording what is owed, and the caller's and the operator's views of it."""

from __future__ import annotations

import logging

from app.payments.models import Payment
from app.platform.extensions import db

log = logging.getLogger(__name__)


def record_payment(
    *,
    user_id: int,
    lot_id: int,
    amount_cents: int,
    currency: str,
    kind: str = "parking",
    booking_id: int | None = None,
    reservation_id: int | None = None,
) -> Payment:
    """Record one charge (``pending`` until the provider or an admin marks it paid)."""
    payment = Payment(
        user_id=user_id,
        lot_id=lot_id,
        amount_cents=amount_cents,
        currency=currency,
        kind=kind,
        booking_id=booking_id,
        reservation_id=reservation_id,
        status="pending",
    )
    db.session.add(payment)
    db.session.flush()
    log.info(
        "payment %s: %s %s (%s) for user %s", payment.id, amount_cents, currency, kind, user_id
    )
    return payment
