"""Schemas of live retrieval: positions the phone reports and the walk as others see it."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.parking.schemas import Latitude, Longitude
from app.platform.schemas import StrictSchema, UTCDateTime

MAX_BATCH = 100


class LivePositionSchema(StrictSchema):
    latitude = Latitude(required=True)
    longitude = Longitude(required=True)
    accuracy_m = fields.Float(validate=validate.Range(min=0, max=100_000), allow_none=True)
    recorded_at = UTCDateTime(
        required=True, metadata={"description": "When the phone was there (its own clock)."}
    )


class PositionsBatchSchema(StrictSchema):
    positions = fields.List(
        fields.Nested(LivePositionSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_BATCH),
    )


class PositionsAcceptedSchema(Schema):
    accepted = fields.Integer(required=True, metadata={"description": "New positions stored."})
    ignored = fields.Integer(
        required=True,
        metadata={"description": "Already stored, from before the walk, or in the future."},
    )


class TrailPointSchema(Schema):
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)
    accuracy_m = fields.Float(allow_none=True)
    recorded_at = UTCDateTime(required=True)


class CarPositionSchema(Schema):
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)


class LiveWalkSchema(Schema):
    """A walk back to the car as it happens (the care circle adds its alerts)."""

    event_id = fields.Integer(required=True)
    user_id = fields.Integer(required=True)
    started_at = UTCDateTime(required=True)
    paused = fields.Boolean(required=True)
    elapsed_seconds = fields.Float(required=True, metadata={"description": "Paused time left out."})
    expected_seconds = fields.Float(allow_none=True)
    distance_to_car_m = fields.Float(allow_none=True)
    car = fields.Nested(CarPositionSchema, required=True)
    last_position = fields.Nested(TrailPointSchema, allow_none=True)
    trail = fields.List(fields.Nested(TrailPointSchema), required=True)
    max_assist_level = fields.Integer(required=True)
