"""Schemas for parking memory: events, landmarks, retrieval, assistance, directions and scores.

Request schemas are strict (unknown fields are a 422), so no client can write a status or a score.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from app.parking.models import EVENT_STATUSES, LOCATION_TYPES, RECALL_HOW
from app.platform.schemas import (
    LAT_LNG_PATTERN,
    HistoryQuery,
    Id,
    PaginationQuery,
    SingleLine,
    StrictBoolean,
    StrictSchema,
    UTCDateTime,
)

NOTES = validate.Length(max=2000)


def Latitude(**kwargs: Any) -> fields.Float:  # noqa: N802 - reads like a field class
    """Degrees north, -90..90 (0 is a real place)."""
    return fields.Float(validate=validate.Range(min=-90, max=90), **kwargs)


def Longitude(**kwargs: Any) -> fields.Float:  # noqa: N802 - reads like a field class
    """Degrees east, -180..180 (0 is a real place)."""
    return fields.Float(validate=validate.Range(min=-180, max=180), **kwargs)


def _both_or_neither(data: dict, first: str = "latitude", second: str = "longitude") -> None:
    """A position is a pair: one coordinate alone is a mistake, not half a position."""
    has_first, has_second = data.get(first) is not None, data.get(second) is not None
    if has_first != has_second:
        missing = second if has_first else first
        raise ValidationError(f"Give {first} and {second} together.", field_name=missing)


def _given_together(data: dict, first: str = "latitude", second: str = "longitude") -> None:
    """In a partial update a position is still a pair: both coordinates are sent, or neither."""
    if (first in data) != (second in data):
        missing = second if first in data else first
        raise ValidationError(f"Give {first} and {second} together.", field_name=missing)


def _photo_url(obj: Any) -> str | None:
    # Services attach the signed URLs (one query for a whole list); schemas never sign.
    if isinstance(obj, dict):
        return obj.get("photo_url")
    return getattr(obj, "photo_url", None)


def PhotoUrl() -> fields.Function:  # noqa: N802 - reads like a field class
    """The object's photo as a signed, short-lived URL (``null`` without a photo)."""
    return fields.Function(
        _photo_url,
        allow_none=True,
        metadata={"type": "string", "format": "uri", "description": "Signed, short-lived."},
    )


# --- requests -------------------------------------------------------------------------------


EARLIEST_FILTER_TIME = datetime(1970, 1, 1, tzinfo=UTC)


class ParkingEventCreateSchema(StrictSchema):
    """Where the car was left. With ``booking_id`` the lot, level and spot come from the booking."""

    latitude = Latitude(required=True)
    longitude = Longitude(required=True)
    accuracy_m = fields.Float(validate=validate.Range(min=0, max=100_000), allow_none=True)
    address = fields.String(validate=[validate.Length(max=255), SingleLine()], allow_none=True)
    location_type = fields.String(load_default="outdoor", validate=validate.OneOf(LOCATION_TYPES))
    level = fields.String(validate=[validate.Length(max=32), SingleLine()], allow_none=True)
    spot_label = fields.String(validate=[validate.Length(max=32), SingleLine()], allow_none=True)
    notes = fields.String(validate=NOTES, allow_none=True)
    booking_id = Id(allow_none=True)
    photo_upload_id = Id(allow_none=True)
    client_uuid = fields.UUID(
        allow_none=True,
        metadata={
            "description": "Set by a phone that may retry: a repeat returns the first event."
        },
    )
    parked_at = UTCDateTime(
        metadata={"description": "Defaults to now; at most a few minutes in the future."}
    )
    meter_expires_at = UTCDateTime(
        allow_none=True,
        metadata={"description": "When the paid time runs out: reminders before and at it."},
    )


class ParkingEventUpdateSchema(StrictSchema):
    """Corrections to a saved event: the pin, notes, level, spot and photo. Never the status."""

    latitude = Latitude()
    longitude = Longitude()
    accuracy_m = fields.Float(validate=validate.Range(min=0, max=100_000), allow_none=True)
    address = fields.String(validate=[validate.Length(max=255), SingleLine()], allow_none=True)
    location_type = fields.String(validate=validate.OneOf(LOCATION_TYPES))
    level = fields.String(validate=[validate.Length(max=32), SingleLine()], allow_none=True)
    spot_label = fields.String(validate=[validate.Length(max=32), SingleLine()], allow_none=True)
    notes = fields.String(validate=NOTES, allow_none=True)
    photo_upload_id = Id(allow_none=True)
    meter_expires_at = UTCDateTime(
        allow_none=True,
        metadata={"description": "When the paid time runs out: reminders before and at it."},
    )

    @validates_schema
    def pin_is_a_pair(self, data: dict, **kwargs: Any) -> None:
        _given_together(data)


class ParkingEventListQuery(HistoryQuery):
    status = fields.String(validate=validate.OneOf(EVENT_STATUSES))


class LandmarkCreateSchema(StrictSchema):
    """A personal cue near the car; coordinates optional, but as a pair."""

    name = fields.String(required=True, validate=[validate.Length(min=1, max=120), SingleLine()])
    description = fields.String(validate=validate.Length(max=500), allow_none=True)
    latitude = Latitude(allow_none=True)
    longitude = Longitude(allow_none=True)
    photo_upload_id = Id(allow_none=True)

    @validates_schema
    def position_is_a_pair(self, data: dict, **kwargs: Any) -> None:
        _both_or_neither(data)


class LandmarkUpdateSchema(StrictSchema):
    """Corrections to a landmark; ``null`` clears an optional field (coordinates as a pair)."""

    name = fields.String(validate=[validate.Length(min=1, max=120), SingleLine()])
    description = fields.String(validate=validate.Length(max=500), allow_none=True)
    latitude = Latitude(allow_none=True)
    longitude = Longitude(allow_none=True)
    photo_upload_id = Id(allow_none=True)

    @validates_schema
    def position_is_a_pair(self, data: dict, **kwargs: Any) -> None:
        _given_together(data)
        _both_or_neither(data)


class PositionSchema(StrictSchema):
    """An optional current position (both coordinates or neither)."""

    latitude = Latitude(allow_none=True)
    longitude = Longitude(allow_none=True)

    @validates_schema
    def position_is_a_pair(self, data: dict, **kwargs: Any) -> None:
        _both_or_neither(data)


class AssistRequestSchema(PositionSchema):
    """A step up the assistance ladder, from 1 (my own notes) to 5 (SOS)."""

    level = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))


class RecallItemSchema(StrictSchema):
    landmark_id = Id(required=True)
    how = fields.String(required=True, validate=validate.OneOf(RECALL_HOW))


class RetrievalCompleteSchema(StrictSchema):
    """How the walk back ended. Landmarks not listed count as ``missed``."""

    found = StrictBoolean(required=True)
    recall = fields.List(
        fields.Nested(RecallItemSchema), load_default=list, validate=validate.Length(max=10)
    )

    @validates_schema
    def each_landmark_once(self, data: dict, **kwargs: Any) -> None:
        ids = [item["landmark_id"] for item in data.get("recall") or []]
        if len(ids) != len(set(ids)):
            raise ValidationError("Each landmark may be listed once.", field_name="recall")


class FromPosition(fields.String):
    """``lat,lng`` in a query string, loaded as a ``(lat, lng)`` tuple."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        parts = value.split(",")
        try:
            if len(parts) != 2:
                raise ValueError
            lat, lng = (float(part.strip()) for part in parts)
        except ValueError as exc:
            raise ValidationError("Use 'latitude,longitude', for example 48.8584,2.2945.") from exc
        if not (math.isfinite(lat) and -90 <= lat <= 90):
            raise ValidationError("Latitude must be between -90 and 90.")
        if not (math.isfinite(lng) and -180 <= lng <= 180):
            raise ValidationError("Longitude must be between -180 and 180.")
        return (lat, lng)


class DirectionsQuery(Schema):
    from_ = FromPosition(
        data_key="from",
        metadata={
            "description": "Where the person is now, `lat,lng`. Without it only links.",
            "pattern": LAT_LNG_PATTERN,
        },
    )


class ScoreListQuery(PaginationQuery):
    from_ = UTCDateTime(
        data_key="from", metadata={"description": "Scores completed at or after this time."}
    )
    to = UTCDateTime(metadata={"description": "Scores completed before this time."})

    @validates_schema
    def ordered(self, data: dict, **kwargs: Any) -> None:
        start, end = data.get("from_"), data.get("to")
        if start is not None and end is not None and start > end:
            raise ValidationError("'from' must not be after 'to'.", field_name="from")

    @post_load
    def clamp(self, data: dict, **kwargs: Any) -> dict:
        # Times before any score mean "from the beginning"; clamping keeps dates the database
        # can store (MariaDB's DATETIME starts at year 1000).
        for name in ("from_", "to"):
            value = data.get(name)
            if value is not None and value < EARLIEST_FILTER_TIME:
                data[name] = EARLIEST_FILTER_TIME
        return data


class ScoreTrendQuery(Schema):
    period = fields.String(load_default="week", validate=validate.OneOf(("week", "month")))


# --- responses ------------------------------------------------------------------------------


class LandmarkSchema(Schema):
    id = fields.Integer(required=True)
    event_id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(allow_none=True)
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    photo_upload_id = fields.Integer(allow_none=True)
    photo_url = PhotoUrl()
    created_at = UTCDateTime(required=True)
    updated_at = UTCDateTime(required=True)


class ScoreSchema(Schema):
    """A retrieval's score with every part. A personal trend measure, never a diagnosis."""

    event_id = fields.Integer(required=True)
    score_version = fields.Integer(required=True)
    total = fields.Float(required=True)
    landmark_recall = fields.Float(allow_none=True)
    time = fields.Float(attribute="time_score", required=True)
    assistance = fields.Float(attribute="assistance_score", required=True)
    expected_seconds = fields.Float(required=True)
    actual_seconds = fields.Float(required=True)
    distance_m = fields.Float(allow_none=True)
    pace_m_per_s = fields.Float(allow_none=True)
    highest_assist_level = fields.Integer(required=True)
    assist_count = fields.Integer(required=True)
    found = StrictBoolean(required=True)
    recall = fields.Function(
        lambda obj: (obj.get("recall") if isinstance(obj, dict) else obj.recall) or [],
        required=True,
        metadata={
            "type": "array",
            "items": {"$ref": "#/components/schemas/RecallItem"},
            "description": "Which landmarks were recalled, and how.",
        },
    )
    created_at = UTCDateTime(required=True)


class ParkingEventSchema(Schema):
    """A saved parking place with its landmarks, photo and (once retrieved) its score."""

    id = fields.Integer(required=True)
    user_id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": list(EVENT_STATUSES)})
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)
    accuracy_m = fields.Float(allow_none=True)
    address = fields.String(allow_none=True)
    location_type = fields.String(required=True, metadata={"enum": list(LOCATION_TYPES)})
    level = fields.String(allow_none=True)
    spot_label = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    booking_id = fields.Integer(allow_none=True)
    lot_id = fields.Integer(allow_none=True)
    photo_upload_id = fields.Integer(allow_none=True)
    photo_url = PhotoUrl()
    client_uuid = fields.String(allow_none=True)
    parked_at = UTCDateTime(required=True)
    meter_expires_at = UTCDateTime(allow_none=True)
    retrieval_started_at = UTCDateTime(allow_none=True)
    retrieval_paused_at = UTCDateTime(allow_none=True)
    paused_seconds = fields.Float(allow_none=True)
    retrieval_completed_at = UTCDateTime(allow_none=True)
    expired_at = UTCDateTime(allow_none=True)
    distance_m = fields.Float(allow_none=True)
    expected_seconds = fields.Float(allow_none=True)
    found = fields.Boolean(allow_none=True)
    landmarks = fields.List(fields.Nested(LandmarkSchema), required=True)
    score = fields.Nested(ScoreSchema, allow_none=True)
    created_at = UTCDateTime(required=True)
    updated_at = UTCDateTime(required=True)


class LinksSchema(Schema):
    google = fields.String(required=True)
    apple = fields.String(required=True)
    geo = fields.String(required=True)


class DirectionsSchema(Schema):
    """The straight line from a position to the car, and walking links for map apps."""

    event_id = fields.Integer(required=True)
    latitude = fields.Float(required=True, metadata={"description": "The car."})
    longitude = fields.Float(required=True)
    distance_m = fields.Float(allow_none=True, metadata={"description": "Straight line, metres."})
    bearing_deg = fields.Float(allow_none=True, metadata={"description": "Degrees from north."})
    compass = fields.String(allow_none=True, metadata={"description": "N, NE, E, ... NW."})
    walking_minutes = fields.Integer(
        allow_none=True, metadata={"description": "At the person's own usual pace."}
    )
    links = fields.Nested(LinksSchema, required=True)


class AssistLandmarkSchema(LandmarkSchema):
    distance_m = fields.Float(allow_none=True)
    bearing_deg = fields.Float(allow_none=True)
    compass = fields.String(allow_none=True)


class ReminderSchema(Schema):
    notes = fields.String(allow_none=True)
    level = fields.String(allow_none=True)
    spot_label = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    location_type = fields.String(required=True, metadata={"enum": list(LOCATION_TYPES)})
    photo_url = fields.String(allow_none=True, metadata={"format": "uri"})
    parked_at = UTCDateTime(required=True)


class AssistResponseSchema(Schema):
    """The help for one level only, a kind plain-language ``message`` and the next step.

    Level 1: ``reminder`` (own notes, level, spot, address, photo). Level 2: ``landmarks`` with
    photos, distance and bearing from the given position. Level 3: ``directions``. Levels 4 and 5:
    the care circle is alerted (``care_circle_alerted``; level 5 is ``urgent``). Lower levels'
    content is not repeated: ask for that level again to see it.
    """

    assist_id = fields.Integer(required=True)
    event_id = fields.Integer(required=True)
    level = fields.Integer(required=True)
    message = fields.String(required=True)
    next_level = fields.Integer(allow_none=True)
    next_level_hint = fields.String(allow_none=True)
    reminder = fields.Nested(ReminderSchema)
    landmarks = fields.List(fields.Nested(AssistLandmarkSchema))
    directions = fields.Nested(DirectionsSchema)
    care_circle_alerted = fields.Boolean()
    alert_id = fields.Integer(
        metadata={"description": "Levels 4-5: the alert caregivers acknowledge and resolve."}
    )
    urgent = fields.Boolean()
    created_at = UTCDateTime(required=True)


class ScoreTrendSchema(Schema):
    """One week or month of scores (periods start on Monday, or on the 1st)."""

    period_start = fields.Date(required=True)
    count = fields.Integer(required=True)
    mean_score = fields.Float(required=True)
    mean_time_ratio = fields.Float(
        required=True, metadata={"description": "Mean of actual / expected seconds."}
    )
    mean_assist_level = fields.Float(
        required=True, metadata={"description": "Mean of the highest level used (0 = none)."}
    )
