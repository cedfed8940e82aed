"""Schemas for parking lots as drivers see them."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.platform.schemas import LAT_LNG_PATTERN, PaginationQuery


class PricingSchema(Schema):
    """A lot's price rule, in integer cents."""

    hourly_rate_cents = fields.Integer(required=True)
    billing_increment_minutes = fields.Integer(required=True)
    free_minutes = fields.Integer(required=True)
    daily_max_cents = fields.Integer(allow_none=True)
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
