"""Photos: direct uploads to storage, and the local storage backend's own endpoints."""

from __future__ import annotations

from flask import request, send_file
from flask.views import MethodView

from app.platform import storage
from app.platform.auth import current_user_id
from app.platform.blueprint import Blueprint
from app.platform.transactions import transaction
from app.platform.web import created, errors, protected
from app.uploads import service as uploads
from app.uploads.schemas import UploadCreateSchema, UploadSchema, UploadTicketSchema

blp = Blueprint("uploads", __name__, description="Photos: direct uploads to storage.")


@blp.route("/uploads")
class Uploads(MethodView):
    @protected(blp, 422, 503)
    @blp.arguments(UploadCreateSchema)
    @transaction
    @blp.response(201, UploadTicketSchema)
    def post(self, body):
        """Start a direct upload: a pending upload and a presigned POST to send the bytes."""
        upload, post = uploads.create_upload(user_id=current_user_id(), **body)
        ticket = {"id": upload.id, "status": upload.status, **post}
        ticket["form_fields"] = ticket.pop("fields", {})
        return created(ticket, "uploads.UploadItem", upload_id=upload.id)


@blp.route("/uploads/<id:upload_id>")
class UploadItem(MethodView):
    @protected(blp, 404)
    @blp.response(200, UploadSchema)
    def get(self, upload_id):
        """One of my uploads."""
        return uploads.get_upload(user_id=current_user_id(), upload_id=upload_id)


@blp.route("/uploads/<id:upload_id>/complete")
class UploadComplete(MethodView):
    @protected(blp, 404, 409, 422, 503)
    @transaction(keep_on=(uploads.InvalidFile,))
    @blp.response(200, UploadSchema)
    def post(self, upload_id):
        """Verify the stored object (exists, size, image signature) and mark it ready."""
        return uploads.complete_upload(user_id=current_user_id(), upload_id=upload_id)


LOCAL_UPLOAD_FORM = {
    "type": "object",
    "properties": {
        "key": {"type": "string"},
        "Content-Type": {"type": "string"},
        "policy": {"type": "string"},
        "file": {"type": "string", "format": "binary"},
    },
    "required": ["key", "Content-Type", "policy", "file"],
}


@blp.route("/storage/uploads")
class LocalUpload(MethodView):
    @errors(blp, 400, 403, 413, 503)
    @transaction
    @blp.response(204)
    @blp.doc(
        summary="Local storage only: receive a presigned POST (multipart fields + file).",
        requestBody={
            "required": True,
            "content": {"multipart/form-data": {"schema": LOCAL_UPLOAD_FORM}},
        },
    )
    def post(self):
        """Local storage only: receive a presigned POST (multipart fields + ``file``)."""
        storage.receive_local_post(request)


@blp.route("/storage/files/<path:token>")
class LocalDownload(MethodView):
    @errors(blp, 403, 404, 503)
    @blp.doc(
        summary="Local storage only: a file behind a signed, expiring link.",
        responses={
            "200": {
                "description": "The file, with the content type it was stored with.",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        },
    )
    def get(self, token):
        """Local storage only: a file behind a signed, expiring link."""
        return send_file(**storage.local_download(token))
