"""Schemas for CSV exports."""

from __future__ import annotations

from flask import url_for
from marshmallow import Schema, fields, validate

from app.exports.models import CSV_KINDS, CSV_PROFILES, EXPORT_KINDS, EXPORT_STATUSES
from app.platform.schemas import PaginationQuery, StrictBoolean, StrictSchema, UTCDateTime


class ExportCreateSchema(StrictSchema):
    """What to export, and whether to e-mail the link when it is ready."""

    kind = fields.String(required=True, validate=validate.OneOf(CSV_KINDS))
    email = StrictBoolean(load_default=False)
    profile = fields.String(load_default="default", validate=validate.OneOf(CSV_PROFILES))
    date_from = UTCDateTime(data_key="from", load_default=None, allow_none=True)
    date_to = UTCDateTime(data_key="to", load_default=None, allow_none=True)


class ExportListQuery(PaginationQuery):
    pass


class ExportDownloadQuery(StrictSchema):
    """``profile``: the CSV in another profile than the export's own (written afresh)."""

    profile = fields.String(load_default=None, validate=validate.OneOf(CSV_PROFILES))


class ExportSchema(Schema):
    """An export and its progress; ``download_url`` once the file is ready."""

    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": list(EXPORT_KINDS)})
    status = fields.String(required=True, metadata={"enum": list(EXPORT_STATUSES)})
    email = fields.Boolean(required=True)
    profile = fields.String(required=True, metadata={"enum": list(CSV_PROFILES)})
    progress = fields.Integer(allow_none=True)
    date_from = UTCDateTime(data_key="from", allow_none=True)
    date_to = UTCDateTime(data_key="to", allow_none=True)
    row_count = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = UTCDateTime(required=True)
    started_at = UTCDateTime(allow_none=True)
    finished_at = UTCDateTime(allow_none=True)
    expires_at = UTCDateTime(allow_none=True)
    download_url = fields.Method(
        "get_download_url", allow_none=True, metadata={"type": "string", "format": "uri"}
    )

    def get_download_url(self, export) -> str | None:
        if export.status != "done":
            return None
        return url_for("exports.ExportDownload", export_id=export.id, _external=True)
