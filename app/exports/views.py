"""CSV exports produced in the background."""

from __future__ import annotations

from flask import Response, redirect, stream_with_context
from flask.views import MethodView

from app.exports import service as exports
from app.exports.schemas import (
    ExportCreateSchema,
    ExportDownloadQuery,
    ExportListQuery,
    ExportSchema,
)
from app.platform.auth import current_user_id
from app.platform.blueprint import Blueprint
from app.platform.schemas import page_of
from app.platform.transactions import transaction
from app.platform.web import Location, file_download, protected

blp = Blueprint("exports", __name__, description="CSV exports produced in the background.")


@blp.route("/exports")
class Exports(MethodView):
    @protected(blp, 409, 422)
    @blp.arguments(ExportCreateSchema)
    @transaction
    @blp.response(202, ExportSchema)
    def post(self, body):
        """Start a CSV export; poll it (or wait for the e-mail) until it is done."""
        export = exports.request_export(user_id=current_user_id(), **body)
        location = Location("exports.ExportItem", export_id=export.id)
        return export, 202, {"Location": location}

    @protected(blp, 422)
    @blp.arguments(ExportListQuery, location="query")
    @blp.response(200, page_of(ExportSchema))
    def get(self, query):
        """The caller's exports, newest first."""
        return exports.list_exports(user_id=current_user_id(), **query)


@blp.route("/exports/<id:export_id>")
class ExportItem(MethodView):
    @protected(blp, 404)
    @blp.response(200, ExportSchema)
    def get(self, export_id):
        """One of the caller's exports, with ``download_url`` once it is done."""
        return exports.get_export(user_id=current_user_id(), export_id=export_id)


@blp.route("/exports/<id:export_id>/download")
class ExportDownload(MethodView):
    @protected(blp, 404, 409, 410, 422)
    @blp.arguments(ExportDownloadQuery, location="query")
    @blp.response(200, description="The CSV file (`text/csv`), or a 302 to a signed URL.")
    @blp.alt_response(302, description="Redirect to a short-lived signed storage URL.")
    @file_download(
        blp, "The export file: CSV, or the personal-data ZIP.", "text/csv", "application/zip"
    )
    def get(self, query, export_id):
        """Download the CSV of a finished export (owner only); ``?profile=excel`` for a
        spreadsheet."""
        url, chunks, filename = exports.download_file(
            user_id=current_user_id(), export_id=export_id, profile=query["profile"]
        )
        if url is not None:
            return redirect(url, 302)
        headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
        return Response(stream_with_context(chunks), mimetype="text/csv", headers=headers)
