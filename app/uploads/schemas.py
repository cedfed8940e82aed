"""Schemas for direct uploads."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.platform.schemas import StrictSchema, UTCDateTime
from app.uploads.models import CONTENT_TYPES, UPLOAD_PURPOSES, UPLOAD_STATUSES

CONTRACT_MAX_BYTES = 10 * 1024 * 1024


class UploadCreateSchema(StrictSchema):
    purpose = fields.String(required=True, validate=validate.OneOf(UPLOAD_PURPOSES))
    content_type = fields.String(required=True, validate=validate.OneOf(list(CONTENT_TYPES)))
    # The contract's ceiling; the service also checks the configured UPLOAD_MAX_BYTES.
    size_bytes = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=CONTRACT_MAX_BYTES)
    )


class UploadSchema(Schema):
    """An upload as its owner sees it; ``photo_url`` once it is ready."""

    id = fields.Integer(required=True)
    purpose = fields.String(required=True, metadata={"enum": list(UPLOAD_PURPOSES)})
    content_type = fields.String(required=True, metadata={"enum": list(CONTENT_TYPES)})
    size_bytes = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": list(UPLOAD_STATUSES)})
    created_at = UTCDateTime(required=True)
    completed_at = UTCDateTime(allow_none=True)
    photo_url = fields.String(
        allow_none=True, metadata={"description": "Signed, short-lived.", "format": "uri"}
    )


class UploadTicketSchema(Schema):
    """Where and how to send the bytes: a multipart POST of ``fields`` plus a ``file`` part."""

    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": list(UPLOAD_STATUSES)})
    method = fields.String(required=True, metadata={"enum": ["POST"]})
    url = fields.String(required=True, metadata={"format": "uri"})
    # ``fields`` would shadow Schema.fields; the attribute is renamed, the JSON key is not.
    form_fields = fields.Dict(keys=fields.String(), values=fields.String(), data_key="fields")
    headers = fields.Dict(keys=fields.String(), values=fields.String())
    expires_at = UTCDateTime(required=True)
