"""Schemas for the person's own data: export, erasure and the access log."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.platform.schemas import (
    JsonObject,
    PaginationQuery,
    StrictBoolean,
    StrictSchema,
    UTCDateTime,
)
from app.privacy.models import ACCESS_RESOURCES, ACCESS_ROLES, CONFIRM_PHRASE


class DataExportSchema(StrictSchema):
    """Build the ZIP of everything ParkMind holds about me; e-mail the link when done."""

    email = StrictBoolean(load_default=True)


class EraseAccountSchema(StrictSchema):
    """Close my account: my password and the confirmation phrase."""

    password = fields.String(required=True, validate=validate.Length(min=1, max=256))
    confirm = fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": f'Exactly "{CONFIRM_PHRASE}".', "example": CONFIRM_PHRASE},
    )


class AccessLogQuery(PaginationQuery):
    created_from = UTCDateTime(data_key="from", metadata={"description": "At or after."})
    created_to = UTCDateTime(data_key="to", metadata={"description": "Before."})


class AccessActorSchema(Schema):
    """Who read: a caregiver, a viewer or an admin (name empty once their account is erased)."""

    id = fields.Integer(required=True)
    username = fields.String(allow_none=True, required=True)
    full_name = fields.String(allow_none=True, required=True)
    role = fields.String(required=True, validate=validate.OneOf(ACCESS_ROLES))


class AccessLogEntrySchema(Schema):
    """One read of my data by someone else: who, what and when."""

    id = fields.Integer(required=True)
    actor = fields.Nested(AccessActorSchema, required=True)
    resource = fields.String(
        required=True,
        validate=validate.OneOf(ACCESS_RESOURCES),
        metadata={"example": "latest_parking_event"},
    )
    detail = JsonObject(required=True)
    created_at = UTCDateTime(required=True)
