"""Payments: what a released booking, a completed reservation or a late cancellation owes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.platform.extensions import db
from app.platform.models import UTCDateTime, check_in, utcnow

PAYMENT_STATUSES = ("pending", "paid", "refunded", "failed")
PAYMENT_KINDS = ("parking", "cancellation_fee")


class Payment(db.Model):
    """One charge. At most one per booking and one per reservation and kind (unique indexes):
    releasing or cancelling twice never charges twice."""

    __tablename__ = "payments"
    __table_args__ = (
        sa.CheckConstraint(check_in("status", PAYMENT_STATUSES), name="status"),
        sa.CheckConstraint(check_in("kind", PAYMENT_KINDS), name="kind"),
        sa.CheckConstraint("amount_cents >= 0", name="amount_non_negative"),
        sa.UniqueConstraint("reservation_id", "kind", name="uq_payments_reservation_kind"),
        sa.Index("ix_payments_created", "created_at"),
        # A user's payments newest first, to the row (keyset cursors on (created_at, id)).
        sa.Index("ix_payments_user_history", "user_id", "created_at", "id"),
        sa.Index("ix_payments_lot_status_created", "lot_id", "status", "created_at"),
        # Revenue is money taken: paid payments by when they were paid. The dashboard's page of
        # lots reads one range per lot, from the index alone; all-lots totals come from the
        # kept revenue slots (app.platform.rollups).
        sa.Index("ix_payments_lot_paid", "lot_id", "status", "paid_at", "amount_cents"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bookings.id"), unique=True)
    reservation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reservations.id"))
    kind: Mapped[str] = mapped_column(sa.String(24), default="parking", server_default="parking")
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lots.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(sa.Integer)
    currency: Mapped[str] = mapped_column(sa.String(3))
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    # Which payment provider holds this charge ("manual": cash or card at the lot's terminal).
    provider: Mapped[str] = mapped_column(sa.String(32), default="manual", server_default="manual")
    provider_reference: Mapped[str | None] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refund_reason: Mapped[str | None] = mapped_column(sa.String(500))
