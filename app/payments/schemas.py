"""Schemas for payments and receipts."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.payments.models import PAYMENT_KINDS, PAYMENT_STATUSES
from app.platform.schemas import (
    HistoryQuery,
    Id,
    PaginationQuery,
    SingleLine,
    StrictSchema,
    UTCDateTime,
)

REASON = [validate.Length(min=1, max=500), SingleLine(visible=True)]


class PaymentLotSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class PaymentSchema(Schema):
    """A payment: money in integer cents with its currency; ``receipt_number`` names the PDF."""

    id = fields.Integer(required=True)
    amount_cents = fields.Integer(required=True)
    currency = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(PAYMENT_STATUSES)})
    kind = fields.String(required=True, metadata={"enum": list(PAYMENT_KINDS)})
    booking_id = fields.Integer(allow_none=True)
    reservation_id = fields.Integer(allow_none=True)
    lot = fields.Nested(PaymentLotSchema, required=True)
    created_at = UTCDateTime(required=True)
    paid_at = UTCDateTime(allow_none=True)
    refunded_at = UTCDateTime(allow_none=True)
    receipt_number = fields.String(required=True, metadata={"example": "PM-000123"})


class PaymentFilters(PaginationQuery):
    status = fields.String(validate=validate.OneOf(PAYMENT_STATUSES))
    kind = fields.String(validate=validate.OneOf(PAYMENT_KINDS))


class PaymentQuerySchema(PaymentFilters, HistoryQuery):
    """A driver's payments: pages, or ``?cursor=`` for any depth."""


class PaymentUserSchema(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)


class AdminPaymentSchema(PaymentSchema):
    """A payment as the operator sees it: whose, which provider, why it was refunded."""

    user = fields.Nested(PaymentUserSchema, required=True)
    provider = fields.String(required=True)
    provider_reference = fields.String(allow_none=True)
    refund_reason = fields.String(allow_none=True)


class AdminPaymentQuerySchema(PaymentFilters):
    lot_id = Id(strict=False)
    created_from = UTCDateTime(data_key="from", metadata={"description": "Created at or after."})
    created_to = UTCDateTime(data_key="to", metadata={"description": "Created before."})

    @validates_schema
    def ordered(self, data, **kwargs):
        start, end = data.get("created_from"), data.get("created_to")
        if start is not None and end is not None and end <= start:
            raise ValidationError("`to` must be after `from`.", "to")


class MarkPaidSchema(StrictSchema):
    reason = fields.String(validate=REASON, allow_none=True)


class RefundSchema(StrictSchema):
    reason = fields.String(required=True, validate=REASON)
