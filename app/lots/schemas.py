"""Schemas for parking lots as drivers see them."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.lots.features import FEATURES
from app.platform.schemas import LAT_LNG_PATTERN, PaginationQuery


def _unique(values: list) -> None:
    if len(set(values)) != len(values):
        raise ValidationError("Each feature at most once.")


def valid_timezone(value: str | None) -> None:
    """An IANA time zone name (``Europe/Berlin``)."""
    if value is None:
        return
    try:
        if len(value) > 64 or "\x00" in value:
            raise ValueError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError("Not a known time zone (IANA name, e.g. Europe/Berlin).") from exc


# A set of spot features, as a list: ``["accessible", "ev_charging"]``.
FEATURE_LIST = fields.List(
    fields.String(validate=validate.OneOf(FEATURES)),
    validate=[validate.Length(max=len(FEATURES)), _unique],
    metadata={"description": "Spot features: " + ", ".join(FEATURES) + ".", "uniqueItems": True},
)


class FreeByFeatureSchema(Schema):
    """Free spots that have each feature."""

    accessible = fields.Integer(required=True)
    ev_charging = fields.Integer(required=True)
    covered = fields.Integer(required=True)
    near_exit = fields.Integer(required=True)


class PricingSchema(Schema):
    """A lot's price rule, in integer cents."""

    hourly_rate_cents = fields.Integer(required=True)
    billing_increment_minutes = fields.Integer(required=True)
    free_minutes = fields.Integer(required=True)
    daily_max_cents = fields.Integer(allow_none=True)
    cancellation_fee_cents = fields.Integer(
        required=True, metadata={"description": "Cost of cancelling a reservation late."}
    )
    currency = fields.String(required=True)


class LotSchema(Schema):
    """A lot with its free and total spot counts and its pricing."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    address = fields.String(required=True)
    pin_code = fields.String(required=True)
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    levels = fields.Integer(required=True)
    free_spots = fields.Integer(required=True)
    total_spots = fields.Integer(required=True)
    free_by_feature = fields.Nested(FreeByFeatureSchema, required=True)
    pricing = fields.Nested(PricingSchema, required=True)
    distance_m = fields.Float(
        metadata={"description": "Distance from `near`, only when `near` is given."}
    )


def parse_point(value: str) -> tuple[float, float]:
    """``"lat,lng"`` → a validated pair of floats."""
    parts = value.split(",")
    if len(parts) != 2:
        raise ValidationError("Expected 'lat,lng'.")
    try:
        lat, lng = float(parts[0]), float(parts[1])
    except ValueError as exc:
        raise ValidationError("Expected 'lat,lng' as two numbers.") from exc
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise ValidationError("Latitude must be within ±90 and longitude within ±180.")
    return lat, lng


class PointField(fields.String):
    """``lat,lng`` in a query string."""

    def _deserialize(self, value, attr, data, **kwargs):
        return parse_point(super()._deserialize(value, attr, data, **kwargs))


class LotQuerySchema(PaginationQuery):
    """Filters of the driver's lot list."""

    q = fields.String(validate=validate.Length(min=1, max=100))
    pin_code = fields.String(validate=validate.Length(min=1, max=16))
    available = fields.Boolean()
    near = PointField(
        metadata={
            "description": "`lat,lng`: sort by distance from this point.",
            "pattern": LAT_LNG_PATTERN,
        }
    )
    radius_km = fields.Float(
        validate=validate.Range(min=0.01, max=200),
        metadata={"description": "Search radius around `near` (only together with `near`)."},
    )

    @validates_schema
    def radius_needs_point(self, data, **kwargs):
        if "radius_km" in data and "near" not in data:
            raise ValidationError("radius_km needs near.", field_name="radius_km")
