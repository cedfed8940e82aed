"""Schemas for the in-app inbox."""

from __future__ import annotations

from marshmallow import Schema, fields

from app.platform.schemas import PaginationQuery, UTCDateTime, page_of


class NotificationQuery(PaginationQuery):
    unread = fields.Boolean(load_default=False, metadata={"description": "Only unread entries."})


class NotificationSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(
        required=True,
        metadata={
            "description": "circle_invited, circle_accepted, circle_declined, circle_revoked, "
            "circle_left, circle_expired, assist_level_4, assist_level_5, retrieval_stalled, "
            "parking_expiring."
        },
    )
    title = fields.String(required=True)
    body = fields.String(required=True)
    data = fields.Function(
        lambda obj: obj.data or {},
        required=True,
        metadata={
            "type": "object",
            "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
            "description": "What the notice is about (ids, names).",
        },
    )
    read = fields.Function(
        lambda obj: obj.read_at is not None, required=True, metadata={"type": "boolean"}
    )
    read_at = UTCDateTime(allow_none=True)
    created_at = UTCDateTime(required=True)


class InboxPageSchema(page_of(NotificationSchema)):
    """A page of the inbox, with how many entries are unread in all."""

    unread_count = fields.Integer(required=True)
