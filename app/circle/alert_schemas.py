"""Schemas of caregiver alerts."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.circle.models import ALERT_KINDS, ALERT_STATES
from app.parking.live_schemas import LiveWalkSchema
from app.platform.schemas import PaginationQuery, SingleLine, StrictSchema, UTCDateTime, page_of


class AlertQuery(PaginationQuery):
    state = fields.String(validate=validate.OneOf(ALERT_STATES), load_default=None)


class AcknowledgeSchema(StrictSchema):
    eta_minutes = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=24 * 60),
        allow_none=True,
        load_default=None,
        metadata={"description": "When the caregiver expects to be there, in minutes."},
    )
    message = fields.String(
        validate=[validate.Length(max=500), SingleLine()], allow_none=True, load_default=None
    )


class ResolveSchema(StrictSchema):
    note = fields.String(
        validate=[validate.Length(max=500), SingleLine()], allow_none=True, load_default=None
    )


class AlertSchema(Schema):
    """Something the care circle is asked to act on, and who is handling it."""

    id = fields.Integer(required=True)
    person_id = fields.Integer(required=True)
    event_id = fields.Integer(allow_none=True)
    kind = fields.String(required=True, validate=validate.OneOf(ALERT_KINDS))
    state = fields.String(required=True, validate=validate.OneOf(ALERT_STATES))
    escalated = fields.Function(
        lambda alert: alert.escalated_at is not None, required=True, metadata={"type": "boolean"}
    )
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    raised_at = UTCDateTime(required=True)
    acknowledged_by_id = fields.Integer(allow_none=True)
    acknowledged_at = UTCDateTime(allow_none=True)
    eta_minutes = fields.Integer(allow_none=True)
    message = fields.String(allow_none=True)
    resolved_by_id = fields.Integer(allow_none=True)
    resolved_at = UTCDateTime(allow_none=True)
    resolution = fields.String(allow_none=True)
    escalated_at = UTCDateTime(allow_none=True)


AlertPageSchema = page_of(AlertSchema)


class LiveRetrievalSchema(LiveWalkSchema):
    """A walk back to the car as it happens, with the alerts not yet resolved."""

    open_alerts = fields.List(fields.Nested(AlertSchema), required=True)


class SharedWithSchema(Schema):
    user_id = fields.Integer(required=True)
    username = fields.String(required=True)
    full_name = fields.String(allow_none=True)


class OwnLiveRetrievalSchema(LiveRetrievalSchema):
    shared_with = fields.List(
        fields.Nested(SharedWithSchema),
        required=True,
        metadata={"description": "The caregivers who can see this walk."},
    )
