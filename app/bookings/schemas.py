"""Schemas for bookings."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from app.bookings.models import BOOKING_STATUSES
from app.lots.schemas import FEATURE_LIST
from app.platform.schemas import (
    HistoryQuery,
    Id,
    SingleLine,
    StrictSchema,
    UTCDateTime,
)

BOOKING_STATUS = validate.OneOf(["active", "completed", "cancelled"])


class BookingCreateSchema(StrictSchema):
    lot_id = Id(required=True)
    vehicle_number = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=32), SingleLine(visible=True)],
    )
    remarks = fields.String(validate=validate.Length(max=500), allow_none=True)
    features = FEATURE_LIST
    level = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=50))


class IdempotencyHeaderSchema(Schema):
    """The optional ``Idempotency-Key`` header."""

    class Meta:
        unknown = EXCLUDE

    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        validate=validate.Length(min=1, max=255),
        metadata={"description": "Same key and body → the same response, one booking (24 h)."},
    )


class LotRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class SpotRefSchema(Schema):
    id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    level = fields.Integer(allow_none=True)


class BookingSchema(Schema):
    """A booking with its frozen price rule; active ones show the cost so far."""

    id = fields.Integer(required=True)
    lot = fields.Nested(LotRefSchema, required=True)
    spot = fields.Nested(SpotRefSchema, required=True)
    vehicle_number = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(BOOKING_STATUSES)})
    started_at = UTCDateTime(required=True)
    ended_at = UTCDateTime(allow_none=True)
    duration_minutes = fields.Integer(allow_none=True)
    hourly_rate_cents = fields.Integer(required=True)
    billing_increment_minutes = fields.Integer(required=True)
    free_minutes = fields.Integer(required=True)
    daily_max_cents = fields.Integer(allow_none=True)
    cost_cents = fields.Integer(allow_none=True)
    cost_so_far_cents = fields.Integer(allow_none=True)
    currency = fields.String(required=True)
    remarks = fields.String(allow_none=True)


class BookingQuerySchema(HistoryQuery):
    status = fields.String(validate=BOOKING_STATUS)


class ScoreSummarySchema(Schema):
    total = fields.Float(required=True)
    score_version = fields.Integer(required=True)
    created_at = UTCDateTime(required=True)


class MyStatsSchema(Schema):
    """The driver's dashboard."""

    bookings = fields.Integer(required=True)
    completed_bookings = fields.Integer(required=True)
    total_spend_cents = fields.Integer(required=True)
    currency = fields.String(required=True)
    active_booking = fields.Nested(BookingSchema, allow_none=True)
    retrievals = fields.Integer(required=True)
    latest_score = fields.Nested(ScoreSummarySchema, allow_none=True)
