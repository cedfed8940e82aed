"""The person's own data: export, erasure, and who read it."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from app.exports.schemas import ExportSchema
from app.platform.auth import current_user_id
from app.platform.blueprint import Blueprint
from app.platform.extensions import limiter
from app.platform.schemas import page_of
from app.platform.transactions import transaction
from app.platform.web import Location, protected
from app.privacy import service as privacy
from app.privacy.schemas import (
    AccessLogEntrySchema,
    AccessLogQuery,
    DataExportSchema,
)

blp = Blueprint("privacy", __name__, description="My data: export, erasure, and who read it.")


def _export_limit() -> str:
    return current_app.config.get("DATA_EXPORT_RATE_LIMIT", "5 per day")


@blp.route("/me/data-export")
class DataExport(MethodView):
    decorators = [limiter.limit(_export_limit, methods=["POST"])]

    @protected(blp, 409, 422, 429)
    @blp.arguments(DataExportSchema, required=False)
    @transaction
    @blp.response(202, ExportSchema)
    def post(self, body):
        """Build a ZIP of everything held about me (JSON per domain, README, photos)."""
        export = privacy.request_data_export(user_id=current_user_id(), **body)
        return export, 202, {"Location": Location("exports.ExportItem", export_id=export.id)}


@blp.route("/me/access-log")
class AccessLog(MethodView):
    @protected(blp, 422)
    @blp.arguments(AccessLogQuery, location="query")
    @blp.response(200, page_of(AccessLogEntrySchema))
    def get(self, query):
        """Who (caregivers, viewers, admins) read my data, what and when; newest first."""
        return privacy.list_access_log(user_id=current_user_id(), **query)
