"""What the payments domain holds about a person (see app.platform.personal_data)."""

from __future__ import annotations

from sqlalchemy import select

from app.payments.models import Payment
from app.platform.extensions import db
from app.platform.personal_data import part, record


@part(
    "payments",
    about="Every charge: amount, currency, status, when paid or refunded.",
    models=[Payment],
)
def export_payments(user_id: int) -> list[dict]:
    """The person's payments, oldest first. Payments are financial records: an erasure keeps
    them for the legal retention period, attached only to the anonymised account."""
    rows = db.session.scalars(
        select(Payment).where(Payment.user_id == user_id).order_by(Payment.created_at, Payment.id)
    )
    return [record(payment) for payment in rows]
