"""Receipts: what a payment was for, as rows of text and as a PDF. Pure rendering: no database;
``app.payments.service.build_receipt`` gathers the figures. Words, money and times are written in
the current language (``app.platform.i18n.in_language``; English outside an app context)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.bookings.pricing import PriceBreakdown, PriceRule
from app.platform.i18n import N_, current_language, format_datetime, format_money, gettext
from app.platform.pdf import render_pdf

STATUS_LABELS = {
    "pending": N_("Pending (to be paid at the lot)"),
    "paid": N_("Paid"),
    "refunded": N_("Refunded"),
    "failed": N_("Failed"),
}


def receipt_number(payment_id: int) -> str:
    """The receipt number of a payment: stable, derived from its id (``PM-000123``)."""
    return f"PM-{payment_id:06d}"


def format_local(moment: datetime | None, zone_name: str) -> str:
    """A UTC instant in the lot's zone, with the zone named: ``2026-11-20 09:15 CET
    (Europe/Paris)``."""
    return format_datetime(moment, zone_name)


def minutes_text(minutes: int) -> str:
    """``30`` → ``30 min``."""
    return gettext("%(minutes)d min", minutes=minutes)


def format_minutes(minutes: int) -> str:
    """``135`` → ``135 min (2 h 15 min)``."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return minutes_text(minutes)
    return gettext(
        "%(minutes)d min (%(hours)d h %(rest)02d min)", minutes=minutes, hours=hours, rest=rest
    )


@dataclass(frozen=True)
class Receipt:
    """Everything a receipt shows. Times are UTC instants; ``zone`` is the lot's time zone."""

    payment_id: int
    kind: str  # parking | cancellation_fee
    status: str
    amount_cents: int
    currency: str
    operator_name: str
    operator_address: str
    lot_name: str
    lot_address: str
    zone: str
    created_at: datetime
    paid_at: datetime | None = None
    refunded_at: datetime | None = None
    refund_reason: str | None = None
    booking_id: int | None = None
    reservation_id: int | None = None
    vehicle_number: str | None = None
    # Whom the receipt is issued to: the payer's full name, when known.
    customer_name: str | None = None
    # Parking: the billed interval, the frozen rule and how the price came about.
    period_start: datetime | None = None
    period_end: datetime | None = None
    rule: PriceRule | None = None
    breakdown: PriceBreakdown | None = None
    # Cancellation fee: the reservation's interval and when it was cancelled.
    reserved_from: datetime | None = None
    reserved_until: datetime | None = None
    cancelled_at: datetime | None = None

    @property
    def number(self) -> str:
        return receipt_number(self.payment_id)

    @property
    def amount(self) -> str:
        return format_money(self.amount_cents, self.currency)


def header_rows(receipt: Receipt) -> list[tuple[str, str]]:
    """Who, where and which payment."""
    when = receipt.zone
    rows = [
        (gettext("Receipt number"), receipt.number),
        (gettext("Issued by"), receipt.operator_name),
    ]
    if receipt.customer_name:
        rows.append((gettext("Issued to"), receipt.customer_name))
    if receipt.operator_address:
        rows.append((gettext("Operator address"), receipt.operator_address))
    rows += [
        (gettext("Lot"), receipt.lot_name),
        (gettext("Lot address"), receipt.lot_address),
        (gettext("Time zone"), when),
        (gettext("Recorded"), format_local(receipt.created_at, when)),
    ]
    if receipt.booking_id is not None:
        rows.append((gettext("Booking"), f"#{receipt.booking_id}"))
    if receipt.reservation_id is not None:
        rows.append((gettext("Reservation"), f"#{receipt.reservation_id}"))
    if receipt.vehicle_number:
        rows.append((gettext("Vehicle"), receipt.vehicle_number))
    return rows


def charge_rows(receipt: Receipt) -> list[tuple[str, str]]:
    """What was charged and why: the stay with its price rule and breakdown, or the fee."""
    zone, currency = receipt.zone, receipt.currency
    rows: list[tuple[str, str]] = []
    if receipt.kind == "cancellation_fee":
        rows += [
            (gettext("Charge"), gettext("Late cancellation fee")),
            (gettext("Reserved from"), format_local(receipt.reserved_from, zone)),
            (gettext("Reserved until"), format_local(receipt.reserved_until, zone)),
            (gettext("Cancelled"), format_local(receipt.cancelled_at, zone)),
            (gettext("Cancellation fee"), format_money(receipt.amount_cents, currency)),
        ]
        return rows
    rows += [
        (gettext("Charge"), gettext("Parking")),
        (gettext("From"), format_local(receipt.period_start, zone)),
        (gettext("Until"), format_local(receipt.period_end, zone)),
    ]
    rule, breakdown = receipt.rule, receipt.breakdown
    if rule is not None:
        daily_max = (
            format_money(rule.daily_max_cents, currency)
            if rule.daily_max_cents is not None
            else gettext("none")
        )
        hourly = format_money(rule.hourly_rate_cents, currency)
        rows += [
            (gettext("Hourly rate"), gettext("%(price)s per hour", price=hourly)),
            (gettext("Billing increment"), minutes_text(rule.billing_increment_minutes)),
            (gettext("Free minutes"), minutes_text(rule.free_minutes)),
            (gettext("Daily maximum"), daily_max),
        ]
    if breakdown is not None:
        rows += [
            (gettext("Billable minutes"), format_minutes(breakdown.billable_minutes)),
            (
                gettext("Full days"),
                f"{breakdown.full_days} x {format_money(breakdown.day_cents, currency)}"
                f" = {format_money(breakdown.full_days * breakdown.day_cents, currency)}",
            ),
            (
                gettext("Remainder"),
                f"{format_minutes(breakdown.remainder_minutes)}"
                f" = {format_money(breakdown.remainder_cents, currency)}",
            ),
            (gettext("Price"), format_money(breakdown.total_cents, currency)),
        ]
    return rows


def status_rows(receipt: Receipt) -> list[tuple[str, str]]:
    """The amount, and where the payment stands."""
    zone = receipt.zone
    rows = [
        (gettext("Amount"), receipt.amount),
        (gettext("Currency"), receipt.currency),
        (gettext("Status"), gettext(STATUS_LABELS.get(receipt.status, receipt.status))),
    ]
    if receipt.paid_at is not None:
        rows.append((gettext("Paid"), format_local(receipt.paid_at, zone)))
    if receipt.refunded_at is not None:
        rows.append((gettext("Refunded"), format_local(receipt.refunded_at, zone)))
    if receipt.refund_reason:
        rows.append((gettext("Refund reason"), receipt.refund_reason))
    return rows


def receipt_rows(receipt: Receipt) -> list[tuple[str, str]]:
    """Every line of the receipt as label/value pairs (shared by the PDF and the e-mail)."""
    return [*header_rows(receipt), *charge_rows(receipt), *status_rows(receipt)]


def render_receipt_pdf(receipt: Receipt) -> bytes:
    """The receipt as a one-page tagged PDF (``templates/pdf/receipt.html``), fonts embedded, in
    the current language (also declared as the document's language)."""
    title = gettext("Receipt %(number)s", number=receipt.number)
    return render_pdf(
        "receipt.html",
        title=title,
        author=receipt.operator_name,
        subject=title,
        language=current_language(),
        operator_name=receipt.operator_name,
        sections=[
            (None, header_rows(receipt)),
            (gettext("Charge"), charge_rows(receipt)),
            (gettext("Payment"), status_rows(receipt)),
        ],
    )
