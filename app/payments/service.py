"""Payments: recording what is owed, and the caller's and the operator's views of it."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import cache as memoize
from typing import Any

from flask import current_app, render_template
from sqlalchemy import Select, bindparam, select

from app.accounts.models import User, wants
from app.admin.models import AdminAudit
from app.bookings.models import Booking
from app.bookings.pricing import PriceRule, price_breakdown
from app.lots.models import Lot
from app.payments.models import Payment
from app.payments.providers import current_provider
from app.payments.receipts import Receipt, receipt_number, receipt_rows, render_receipt_pdf
from app.platform import cache
from app.platform.errors import InvalidTransition, NotFound
from app.platform.extensions import db
from app.platform.i18n import gettext, in_language, language_of, language_of_user
from app.platform.mail import send_email
from app.platform.models import utcnow
from app.platform.pagination import history, history_page, paginate
from app.platform.queue import enqueue
from app.reservations.models import Reservation

log = logging.getLogger(__name__)

RECEIPT_TASK = "payments.email_receipt"


def payment_not_found() -> NotFound:
    return NotFound("No such payment.", code="payment_not_found")


@memoize
def _recording() -> tuple[Any, Any, Select]:
    """The statements of :func:`record_payment`, built once with bound parameters."""
    payments, users = Payment.__table__, User.__table__
    return (
        payments.insert(),
        payments.update().where(payments.c.id == bindparam("payment_id_")),
        select(users.c.preferences).where(users.c.id == bindparam("user_id")),
    )


def record_payment(
    *,
    user_id: int,
    lot_id: int,
    amount_cents: int,
    currency: str,
    kind: str = "parking",
    booking_id: int | None = None,
    reservation_id: int | None = None,
    receipt_by_email: bool | None = None,
) -> int:
    """Record one charge (``pending`` until the provider or an admin marks it paid) and return
    its id. Written with Core statements: one INSERT, and an UPDATE only when the provider's
    answer changes it. ``receipt_by_email`` is the payer's preference when the caller has read
    it already (else it is read here). The caller invalidates the dashboards it changed (a
    release already does, in one round trip)."""
    provider = current_provider()
    insert, update, preferences_of = _recording()
    payment_id = db.session.execute(
        insert,
        {
            "user_id": user_id,
            "lot_id": lot_id,
            "amount_cents": amount_cents,
            "currency": currency,
            "kind": kind,
            "booking_id": booking_id,
            "reservation_id": reservation_id,
            "status": "pending",
            "provider": provider.name,
            "provider_reference": None,
        },
    ).inserted_primary_key[0]
    charge = provider.charge(payment_id=payment_id, amount_cents=amount_cents, currency=currency)
    if (charge.status, charge.reference) != ("pending", None):
        changes = {"status": charge.status, "provider_reference": charge.reference}
        if charge.status == "paid":
            changes["paid_at"] = utcnow()
        db.session.execute(update, {"payment_id_": payment_id, **changes})
    if receipt_by_email is None:
        preferences = db.session.execute(preferences_of, {"user_id": user_id}).scalar()
        receipt_by_email = wants(preferences, "email_receipts")
    if receipt_by_email:
        enqueue(RECEIPT_TASK, payment_id)
    log.info(
        "payment %s: %s %s (%s) for user %s", payment_id, amount_cents, currency, kind, user_id
    )
    return payment_id


# --- reading -------------------------------------------------------------------------------------


@memoize
def _payment_rows() -> Select:
    return (
        select(Payment, Lot.name, User.username)
        .join(Lot, Lot.id == Payment.lot_id)
        .join(User, User.id == Payment.user_id)
    )


def payment_view(payment: Payment, lot_name: str) -> dict[str, Any]:
    """A payment as its owner sees it."""
    return {
        "id": payment.id,
        "amount_cents": payment.amount_cents,
        "currency": payment.currency,
        "status": payment.status,
        "kind": payment.kind,
        "booking_id": payment.booking_id,
        "reservation_id": payment.reservation_id,
        "lot": {"id": payment.lot_id, "name": lot_name},
        "created_at": payment.created_at,
        "paid_at": payment.paid_at,
        "refunded_at": payment.refunded_at,
        "receipt_number": receipt_number(payment.id),
    }


def admin_payment_view(payment: Payment, lot_name: str, username: str) -> dict[str, Any]:
    """A payment as the operator sees it: also whose, the provider and the refund reason."""
    return {
        **payment_view(payment, lot_name),
        "user": {"id": payment.user_id, "username": username},
        "provider": payment.provider,
        "provider_reference": payment.provider_reference,
        "refund_reason": payment.refund_reason,
    }


def _newest_first(stmt: Select) -> Select:
    return stmt.order_by(Payment.created_at.desc(), Payment.id.desc())


def list_payments(
    *,
    user_id: int,
    page: int,
    per_page: int,
    status: str | None = None,
    kind: str | None = None,
    cursor: tuple[datetime, int] | None = None,
) -> dict[str, Any]:
    """The user's payments, newest first (``status``, ``kind`` filters): the page's ids from
    ``ix_payments_user_history``, then the rows; any depth with a cursor."""
    payments = Payment.__table__
    filters = {
        "user_id": user_id,
        **({"status": status} if status is not None else {}),
        **({"kind": kind} if kind is not None else {}),
    }
    statements = history(_payment_rows(), payments.c.id, payments.c.created_at, tuple(filters))
    result = history_page(
        statements,
        filters,
        page=page,
        per_page=per_page,
        cursor=cursor,
        item_id=lambda row: row[0].id,
        rows=lambda ids: db.session.execute(statements.rows, {"ids": ids}).all(),
    )
    result["items"] = [payment_view(payment, lot) for payment, lot, _ in result["items"]]
    return result


def _owned_row(user_id: int, payment_id: int):
    row = db.session.execute(
        _payment_rows().where(Payment.id == payment_id, Payment.user_id == user_id)
    ).first()
    if row is None:
        raise payment_not_found()
    return row


def get_payment(*, user_id: int, payment_id: int) -> dict[str, Any]:
    """One of the user's payments (another user's is a 404)."""
    payment, lot_name, _ = _owned_row(user_id, payment_id)
    return payment_view(payment, lot_name)


def admin_list_payments(
    *,
    page: int,
    per_page: int,
    lot_id: int | None = None,
    status: str | None = None,
    kind: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> dict[str, Any]:
    """Admin: every payment, newest first, by lot, status, kind and creation time [from, to)."""
    stmt = _payment_rows()
    if lot_id is not None:
        stmt = stmt.where(Payment.lot_id == lot_id)
    if status is not None:
        stmt = stmt.where(Payment.status == status)
    if kind is not None:
        stmt = stmt.where(Payment.kind == kind)
    if created_from is not None:
        stmt = stmt.where(Payment.created_at >= created_from)
    if created_to is not None:
        stmt = stmt.where(Payment.created_at < created_to)
    result = paginate(_newest_first(stmt), page=page, per_page=per_page, scalars=False)
    result["items"] = [admin_payment_view(*row) for row in result["items"]]
    return result


# --- the operator's changes ----------------------------------------------------------------------


def _locked(payment_id: int) -> Payment:
    payment = db.session.scalar(select(Payment).where(Payment.id == payment_id).with_for_update())
    if payment is None:
        raise payment_not_found()
    return payment


def _audit(*, actor_id: int, action: str, payment: Payment, detail: dict[str, Any]) -> None:
    db.session.add(
        AdminAudit(
            actor_id=actor_id,
            action=action,
            target_type="payment",
            target_id=payment.id,
            detail=detail,
            created_at=utcnow(),
        )
    )


def _admin_view(payment_id: int) -> dict[str, Any]:
    db.session.flush()
    row = db.session.execute(_payment_rows().where(Payment.id == payment_id)).one()
    return admin_payment_view(*row)


def mark_paid(*, actor_id: int, payment_id: int, reason: str | None = None) -> dict[str, Any]:
    """Admin: the money of a pending payment was collected (cash, terminal): ``paid``."""
    payment = _locked(payment_id)
    if payment.status != "pending":
        raise InvalidTransition(f"This payment is {payment.status}; only pending ones can be paid.")
    payment.status, payment.paid_at = "paid", utcnow()
    _audit(
        actor_id=actor_id,
        action="payment.mark_paid",
        payment=payment,
        detail={
            "from": "pending",
            "to": "paid",
            "reason": reason,
            "amount_cents": payment.amount_cents,
        },
    )
    cache.invalidate(cache.ADMIN_STATS)
    log.info("payment %s marked paid by admin %s", payment.id, actor_id)
    return _admin_view(payment.id)


def refund_payment(*, actor_id: int, payment_id: int, reason: str) -> dict[str, Any]:
    """Admin: give a paid payment back, or waive a pending one: ``refunded``, with the reason."""
    payment = _locked(payment_id)
    if payment.status not in ("paid", "pending"):
        raise InvalidTransition(
            f"This payment is {payment.status}; only paid or pending ones can be refunded."
        )
    refund = current_provider().refund(
        payment_id=payment.id,
        reference=payment.provider_reference,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        reason=reason,
    )
    previous = payment.status
    payment.status, payment.refunded_at, payment.refund_reason = "refunded", utcnow(), reason
    _audit(
        actor_id=actor_id,
        action="payment.refund",
        payment=payment,
        detail={
            "from": previous,
            "to": "refunded",
            "reason": reason,
            "amount_cents": payment.amount_cents,
            "provider_reference": refund.reference,
        },
    )
    cache.invalidate(cache.ADMIN_STATS)
    log.info("payment %s refunded by admin %s", payment.id, actor_id)
    return _admin_view(payment.id)


# --- receipts ------------------------------------------------------------------------------------


def _stay(payment: Payment) -> dict[str, Any]:
    """The billed stay of a parking payment: interval, frozen rule, breakdown, vehicle."""
    if payment.reservation_id is not None:
        # A reservation is billed from its start to when the car left, or to its end if sooner.
        reservation = db.session.get(Reservation, payment.reservation_id)
        start = reservation.start_at
        end = max(reservation.ended_at or reservation.end_at, reservation.end_at)
        source: Booking | Reservation = reservation
    elif payment.booking_id is not None:
        booking = db.session.get(Booking, payment.booking_id)
        start, end, source = booking.started_at, booking.ended_at or booking.started_at, booking
    else:
        return {}
    rule = PriceRule.of(source)
    seconds = max(0.0, (end - start).total_seconds())
    return {
        "period_start": start,
        "period_end": end,
        "rule": rule,
        "breakdown": price_breakdown(rule, seconds),
        "vehicle_number": source.vehicle_number,
    }


def _cancellation(payment: Payment) -> dict[str, Any]:
    reservation = db.session.get(Reservation, payment.reservation_id)
    if reservation is None:
        return {}
    return {
        "reserved_from": reservation.start_at,
        "reserved_until": reservation.end_at,
        "cancelled_at": reservation.cancelled_at,
        "vehicle_number": reservation.vehicle_number,
    }


def build_receipt(*, payment_id: int) -> Receipt:
    """Gather what the receipt of payment ``payment_id`` shows."""
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        raise payment_not_found()
    lot = db.session.get(Lot, payment.lot_id)
    config = current_app.config
    details = _cancellation(payment) if payment.kind == "cancellation_fee" else _stay(payment)
    payer = db.session.get(User, payment.user_id)
    return Receipt(
        payment_id=payment.id,
        kind=payment.kind,
        status=payment.status,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        operator_name=config["OPERATOR_NAME"],
        operator_address=config.get("OPERATOR_ADDRESS") or "",
        lot_name=lot.name,
        lot_address=lot.address,
        zone=lot.timezone or config.get("TIMEZONE") or "UTC",
        created_at=payment.created_at,
        paid_at=payment.paid_at,
        refunded_at=payment.refunded_at,
        refund_reason=payment.refund_reason,
        booking_id=payment.booking_id,
        reservation_id=payment.reservation_id,
        # An erased account keeps its payments but has no name any more.
        customer_name=payer.full_name if payer is not None else None,
        **details,
    )


def receipt_pdf(*, user_id: int, payment_id: int) -> tuple[str, bytes]:
    """The file name and PDF of the receipt of one of the user's payments, in their language."""
    _owned_row(user_id, payment_id)
    receipt = build_receipt(payment_id=payment_id)
    with in_language(language_of_user(user_id)):
        return f"receipt-{receipt.number}.pdf", render_receipt_pdf(receipt)


def receipt_key(payment_id: int) -> str:
    """The outbound ledger key of a payment's receipt e-mail."""
    return f"payment-receipt:{payment_id}"


def send_receipt_email(*, payment_id: int) -> bool:
    """E-mail the receipt PDF to the payer once, if they (still) want receipts by e-mail."""
    user = db.session.execute(
        select(User).join(Payment, Payment.user_id == User.id).where(Payment.id == payment_id)
    ).scalar_one_or_none()
    if user is None or not user.is_active or not wants(user.preferences, "email_receipts"):
        return False
    receipt = build_receipt(payment_id=payment_id)
    with in_language(language_of(user.preferences)):
        context = {
            "name": user.full_name or user.username,
            "receipt": receipt,
            "rows": receipt_rows(receipt),
        }
        subject = gettext(
            "Your receipt %(number)s from %(operator)s",
            number=receipt.number,
            operator=receipt.operator_name,
        )
        text = render_template("email/receipt.txt", **context)
        markup = render_template("email/receipt.html", **context)
        pdf = render_receipt_pdf(receipt)
    return send_email(
        dedupe_key=receipt_key(payment_id),
        to=user.email,
        subject=subject,
        text=text,
        html=markup,
        attachments=[(f"receipt-{receipt.number}.pdf", pdf, "application/pdf")],
    )
