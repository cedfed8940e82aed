"""Schemas for administration: lots, spots, users, bookings, stats, activity."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.accounts.models import ROLES
from app.bookings.schemas import BookingSchema, LotRefSchema
from app.lots.schemas import FEATURE_LIST, LotSchema, valid_timezone
from app.platform.schemas import (
    CURSOR_MAX_LENGTH,
    Id,
    IdCursor,
    JsonObject,
    PaginationQuery,
    SingleLine,
    StrictBoolean,
    StrictSchema,
    UTCDateTime,
)

MAX_SPOTS = 5000
CENTS = validate.Range(min=0, max=10_000_000)
NAME = [validate.Length(min=1, max=120), SingleLine()]
ADDRESS = [validate.Length(min=1, max=255), SingleLine()]
PIN = validate.Regexp(r"^[A-Za-z0-9 -]{3,16}$", error="3 to 16 letters, digits, spaces or '-'.")


class LotCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=NAME)
    address = fields.String(required=True, validate=ADDRESS)
    pin_code = fields.String(required=True, validate=PIN)
    hourly_rate_cents = fields.Integer(required=True, strict=True, validate=CENTS)
    total_spots = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=MAX_SPOTS)
    )
    levels = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=50))
    billing_increment_minutes = fields.Integer(
        strict=True, load_default=60, validate=validate.Range(min=1, max=1440)
    )
    free_minutes = fields.Integer(
        strict=True, load_default=0, validate=validate.Range(min=0, max=1440)
    )
    daily_max_cents = fields.Integer(strict=True, allow_none=True, validate=CENTS)
    latitude = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    cancellation_fee_cents = fields.Integer(strict=True, load_default=0, validate=CENTS)
    timezone = fields.String(allow_none=True, validate=valid_timezone)
    features_by_spot = fields.Dict(
        keys=fields.String(validate=validate.Regexp(r"^[1-9][0-9]{0,3}$", error="A spot number.")),
        values=FEATURE_LIST,
        validate=validate.Length(max=MAX_SPOTS),
        metadata={
            "description": 'Features per spot number, e.g. `{"1": ["accessible"]}`.',
            "example": {"1": ["accessible", "near_exit"], "2": ["ev_charging"]},
        },
    )

    @validates_schema
    def both_coordinates(self, data, **kwargs):
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            raise ValidationError("Give both latitude and longitude, or neither.", "latitude")

    @validates_schema
    def spots_exist(self, data, **kwargs):
        numbers = [int(number) for number in data.get("features_by_spot") or {}]
        if numbers and max(numbers) > data.get("total_spots", 0):
            raise ValidationError(
                "Every spot number must be within total_spots.", "features_by_spot"
            )


class LotUpdateSchema(StrictSchema):
    """Every field optional; ``total_spots`` grows or shrinks the lot."""

    name = fields.String(validate=NAME)
    address = fields.String(validate=ADDRESS)
    pin_code = fields.String(validate=PIN)
    hourly_rate_cents = fields.Integer(strict=True, validate=CENTS)
    total_spots = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_SPOTS))
    levels = fields.Integer(strict=True, validate=validate.Range(min=1, max=50))
    billing_increment_minutes = fields.Integer(
        strict=True, validate=validate.Range(min=1, max=1440)
    )
    free_minutes = fields.Integer(strict=True, validate=validate.Range(min=0, max=1440))
    daily_max_cents = fields.Integer(strict=True, allow_none=True, validate=CENTS)
    latitude = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    cancellation_fee_cents = fields.Integer(strict=True, validate=CENTS)
    timezone = fields.String(allow_none=True, validate=valid_timezone)


class AdminLotSchema(LotSchema):
    """A lot as admins see it: also occupied and out-of-service counts."""

    occupied_spots = fields.Integer(required=True)
    out_of_service_spots = fields.Integer(required=True)
    timezone = fields.String(allow_none=True)
    created_at = UTCDateTime(required=True)
    updated_at = UTCDateTime(required=True)


class AdminLotQuerySchema(PaginationQuery):
    q = fields.String(validate=validate.Length(min=1, max=100))


class SpotBookingSchema(Schema):
    id = fields.Integer(required=True)
    user_id = fields.Integer(required=True)
    username = fields.String(required=True)
    vehicle_number = fields.String(required=True)
    started_at = UTCDateTime(required=True)


class AdminSpotSchema(Schema):
    """A spot: ``status`` is available, occupied or out_of_service."""

    id = fields.Integer(required=True)
    lot_id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    level = fields.Integer(allow_none=True)
    features = fields.List(fields.String(), required=True)
    status = fields.String(
        required=True, metadata={"enum": ["available", "occupied", "out_of_service"]}
    )
    is_occupied = fields.Boolean(required=True)
    current_booking = fields.Nested(SpotBookingSchema, allow_none=True)


class SpotUpdateSchema(StrictSchema):
    """Any of: status, features (the whole set), level."""

    status = fields.String(validate=validate.OneOf(["available", "out_of_service"]))
    features = FEATURE_LIST
    level = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=50))

    @validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("Give status, features or level.", "_schema")


class AdminUserQuerySchema(PaginationQuery):
    q = fields.String(validate=validate.Length(min=1, max=100))


class AdminUserSchema(Schema):
    """A user as admins see it, with booking figures (no photo URL: lists stay one query)."""

    id = fields.Integer(required=True)
    username = fields.String(required=True)
    email = fields.String(required=True)
    full_name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    vehicle_number = fields.String(allow_none=True)
    role = fields.String(required=True, metadata={"enum": list(ROLES)})
    is_active = fields.Boolean(required=True)
    avatar_upload_id = fields.Integer(allow_none=True)
    created_at = UTCDateTime(required=True)
    last_login_at = UTCDateTime(allow_none=True)
    booking_count = fields.Integer(required=True)
    active_booking_id = fields.Integer(allow_none=True)


class AdminUserUpdateSchema(StrictSchema):
    is_active = StrictBoolean()
    role = fields.String(validate=validate.OneOf(["user", "admin"]))


class UserRefSchema(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)


class AdminBookingSchema(BookingSchema):
    user = fields.Nested(UserRefSchema, required=True)


class AdminBookingQuerySchema(PaginationQuery):
    lot_id = Id(strict=False)
    user_id = Id(strict=False)
    status = fields.String(validate=validate.OneOf(["active", "completed", "cancelled"]))


class LotStatsSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    total_spots = fields.Integer(required=True)
    occupied_spots = fields.Integer(required=True)
    free_spots = fields.Integer(required=True)
    occupancy_percent = fields.Float(required=True)
    revenue_today_cents = fields.Integer(
        required=True, metadata={"description": "Paid payments, by when they were paid."}
    )
    revenue_month_cents = fields.Integer(
        required=True, metadata={"description": "Paid payments, by when they were paid."}
    )
    upcoming_reservations = fields.Integer(
        required=True, metadata={"description": "Confirmed reservations still to start."}
    )
    no_shows_month = fields.Integer(
        required=True, metadata={"description": "Reservations of this month marked no-show."}
    )


class AdminStatsSchema(Schema):
    """Occupancy, revenue from paid payments (today and this month in the configured time
    zone), users."""

    lots = fields.Integer(required=True)
    spots = fields.Integer(required=True)
    occupied_spots = fields.Integer(required=True)
    occupancy_percent = fields.Float(required=True)
    revenue_today_cents = fields.Integer(required=True)
    revenue_month_cents = fields.Integer(required=True)
    currency = fields.String(required=True)
    timezone = fields.String(required=True)
    users = fields.Integer(required=True)
    active_users = fields.Integer(required=True)
    active_bookings = fields.Integer(required=True)
    per_lot = fields.List(
        fields.Nested(LotStatsSchema),
        required=True,
        metadata={
            "description": "One page of live lots, by id (`?per_lot_limit=&per_lot_cursor=`)."
        },
    )
    per_lot_next_cursor = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "Pass as `per_lot_cursor` for the next lots; null after the last."
        },
    )
    generated_at = UTCDateTime(required=True)


class StatsQuerySchema(Schema):
    per_lot_limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    per_lot_cursor = IdCursor(
        attribute="after_lot",
        metadata={
            "maxLength": CURSOR_MAX_LENGTH,
            "pattern": "^[A-Za-z0-9_-]+$",
            "description": "The `per_lot_next_cursor` of the previous answer.",
        },
    )


class ActivityQuerySchema(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ActivitySchema(Schema):
    """One event: ``booking_started``, ``booking_released`` or ``user_registered``."""

    type = fields.String(
        required=True,
        metadata={"enum": ["booking_started", "booking_released", "user_registered"]},
    )
    at = UTCDateTime(required=True)
    user = fields.Nested(UserRefSchema, required=True)
    booking_id = fields.Integer(allow_none=True)
    lot = fields.Nested(LotRefSchema)
    cost_cents = fields.Integer(allow_none=True)


class ActivityListSchema(Schema):
    items = fields.List(fields.Nested(ActivitySchema), required=True)


class AuditQuerySchema(PaginationQuery):
    actor_id = Id(strict=False)
    action = fields.String(validate=validate.Length(min=1, max=64))
    target_type = fields.String(validate=validate.Length(min=1, max=32))
    created_from = UTCDateTime(data_key="from", metadata={"description": "At or after."})
    created_to = UTCDateTime(data_key="to", metadata={"description": "Before."})


class AuditEntrySchema(Schema):
    """One admin action: who, what, on which target, when, and its details."""

    id = fields.Integer(required=True)
    actor = fields.Nested(UserRefSchema, required=True)
    action = fields.String(required=True, metadata={"example": "payment.refund"})
    target_type = fields.String(
        required=True, metadata={"example": "payment", "enum": ["lot", "spot", "user", "payment"]}
    )
    target_id = fields.Integer(required=True)
    detail = JsonObject(required=True)
    created_at = UTCDateTime(required=True)
