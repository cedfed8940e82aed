"""Schemas for reservations and quotes."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.bookings.schemas import LotRefSchema, SpotRefSchema
from app.lots.schemas import FEATURE_LIST
from app.platform.schemas import Id, PaginationQuery, SingleLine, StrictSchema, UTCDateTime
from app.reservations.models import RESERVATION_STATUSES

LEVEL = validate.Range(min=1, max=50)


class QuoteRequestSchema(StrictSchema):
    """An interval ``[start_at, end_at)`` in a lot, with the features and level wanted."""

    lot_id = Id(required=True)
    start_at = UTCDateTime(required=True, metadata={"example": "2026-12-01T09:00:00Z"})
    end_at = UTCDateTime(required=True, metadata={"example": "2026-12-01T11:30:00Z"})
    features = FEATURE_LIST
    level = fields.Integer(strict=True, allow_none=True, validate=LEVEL)

    @validates_schema
    def ordered(self, data: dict, **kwargs: Any) -> None:
        start, end = data.get("start_at"), data.get("end_at")
        if start is not None and end is not None and end <= start:
            raise ValidationError("end_at must be after start_at.", field_name="end_at")


class ReservationCreateSchema(QuoteRequestSchema):
    vehicle_number = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=32), SingleLine(visible=True)],
        metadata={"example": "KA01AB1234"},
    )


class ExtendSchema(StrictSchema):
    end_at = UTCDateTime(required=True, metadata={"description": "The new, later end."})


class BreakdownSchema(Schema):
    """How the amount comes about: billed minutes, whole 24 h blocks (capped) and the rest."""

    billable_minutes = fields.Integer(required=True)
    full_days = fields.Integer(required=True)
    day_cents = fields.Integer(required=True)
    remainder_minutes = fields.Integer(required=True)
    remainder_cents = fields.Integer(required=True)
    total_cents = fields.Integer(required=True)


class PriceRuleSchema(Schema):
    hourly_rate_cents = fields.Integer(required=True)
    billing_increment_minutes = fields.Integer(required=True)
    free_minutes = fields.Integer(required=True)
    daily_max_cents = fields.Integer(allow_none=True)


class QuoteSchema(Schema):
    """The price of an interval under the lot's rule, and whether a spot is free for it."""

    lot = fields.Nested(LotRefSchema, required=True)
    start_at = UTCDateTime(required=True)
    end_at = UTCDateTime(required=True)
    available = fields.Boolean(required=True)
    amount_cents = fields.Integer(required=True)
    currency = fields.String(required=True)
    price_rule = fields.Nested(PriceRuleSchema, required=True)
    breakdown = fields.Nested(BreakdownSchema, required=True)
    cancellation_free_until = UTCDateTime(required=True)
    cancellation_fee_cents = fields.Integer(required=True)


class ReservationSchema(Schema):
    """A reservation. ``spot`` is null while its spot is blocked and none other is free."""

    id = fields.Integer(required=True)
    lot = fields.Nested(LotRefSchema, required=True)
    spot = fields.Nested(SpotRefSchema, allow_none=True, required=True)
    vehicle_number = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(RESERVATION_STATUSES))
    start_at = UTCDateTime(required=True)
    end_at = UTCDateTime(required=True)
    features = fields.List(fields.String(), required=True)
    level = fields.Integer(allow_none=True)
    price_rule = fields.Nested(PriceRuleSchema, required=True)
    amount_cents = fields.Integer(required=True, metadata={"description": "Quoted price."})
    cost_cents = fields.Integer(allow_none=True, metadata={"description": "Billed on release."})
    cancellation_fee_cents = fields.Integer(
        required=True,
        metadata={"description": "Charged if cancelled after `cancellation_free_until`."},
    )
    cancellation_free_until = UTCDateTime(required=True)
    currency = fields.String(required=True)
    booking_id = fields.Integer(allow_none=True, metadata={"description": "Once checked in."})
    checked_in_at = UTCDateTime(allow_none=True)
    ended_at = UTCDateTime(allow_none=True)
    cancelled_at = UTCDateTime(allow_none=True)
    created_at = UTCDateTime(required=True)


class AdminReservationSchema(ReservationSchema):
    user_id = fields.Integer(required=True)
    username = fields.String(required=True)


def _ordered_range(data: dict) -> None:
    start, end = data.get("from_"), data.get("to")
    if start is not None and end is not None and start > end:
        raise ValidationError("'from' must not be after 'to'.", field_name="from")


class ReservationQuerySchema(PaginationQuery):
    status = fields.String(validate=validate.OneOf(RESERVATION_STATUSES))
    from_ = UTCDateTime(
        data_key="from", metadata={"description": "Reservations ending after this time."}
    )
    to = UTCDateTime(metadata={"description": "Reservations starting before this time."})

    @validates_schema
    def ordered(self, data: dict, **kwargs: Any) -> None:
        _ordered_range(data)


class AdminReservationQuerySchema(ReservationQuerySchema):
    lot_id = Id(strict=False)
    user_id = Id(strict=False)
