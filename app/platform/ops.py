"""Liveness and readiness."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields

from app.platform import health
from app.platform.blueprint import Blueprint

blp = Blueprint("ops", __name__, description="Operations: liveness and readiness.")


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok"]})


class CheckSchema(Schema):
    """One dependency: ``ok``, ``down`` (with the error's name), or the outbox's backlog."""

    status = fields.String(required=True, metadata={"enum": ["ok", "down", "delayed"]})
    latency_ms = fields.Float()
    error = fields.String()
    pending = fields.Integer()
    oldest_age_seconds = fields.Float()


class ReadySchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok", "unavailable"]})
    checks = fields.Dict(keys=fields.String(), values=fields.Nested(CheckSchema), required=True)


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    def get(self):
        """Liveness: answers without touching any dependency."""
        return {"status": "ok"}


@blp.route("/ready")
class Ready(MethodView):
    @blp.response(200, ReadySchema)
    @blp.alt_response(503, schema=ReadySchema, description="A dependency is down.")
    def get(self):
        """Readiness: the database, and Redis and the broker when configured."""
        report = health.readiness()
        return report, (200 if report["status"] == "ok" else 503)
