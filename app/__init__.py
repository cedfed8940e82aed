"""ParkMind: the application factory."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from config import engine_options, load_config, validate_config

log = logging.getLogger(__name__)

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def create_app(app_env: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Build a configured ParkMind app. Nothing connects to a service here."""
    settings = load_config(app_env)
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(settings)
    if overrides:
        app.config.update(overrides)
    app.config.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    )
    validate_config(app.config)
    app.json.sort_keys = False

    from app.logging_setup import configure_logging

    configure_logging(app)

    from app.extensions import init_extensions

    init_extensions(app)

    from app import db_events

    db_events.register(app)

    from app.errors import register_error_handlers

    register_error_handlers(app)

    from app.auth import register_jwt_handlers

    register_jwt_handlers(app)

    from app.api import register_blueprints

    register_blueprints(app)

    from app.cli import register_cli

    register_cli(app)

    from app.metrics import init_metrics

    init_metrics(app)

    from app.tasks_bridge import init_celery

    init_celery(app)

    _register_request_hooks(app)
    if app.config["TRUSTED_PROXIES"] > 0:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    return app


def _register_request_hooks(app: Flask) -> None:
    import structlog

    from app import db_events
    from app.extensions import db
    from app.transactions import commit_response, safe_rollback

    @app.before_request
    def assign_request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID_PATTERN.match(incoming) else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=g.request_id)

    @app.before_request
    def take_sqlite_write_lock_early() -> None:
        # SQLite allows one writer. A request that reads first and writes later in a deferred
        # transaction fails at once with "database is locked" when another writer committed
        # meanwhile (the busy timeout does not apply). Writes take the lock at BEGIN instead.
        if request.method in WRITE_METHODS and db_events.is_sqlite():
            db_events.begin_immediate(db.session)

    @app.before_request
    def require_patch_body() -> None:
        # A PATCH without a body is a client mistake, not an empty change set.
        if (
            request.method == "PATCH"
            and request.url_rule is not None  # an unsupported method stays a 405
            and request.path.startswith("/api/")
            and not request.get_data(cache=True)
        ):
            from app.errors import BadRequest

            raise BadRequest("A JSON body is required.", code="body_required")

    @app.after_request
    def finish_request(response):
        response = commit_response(response)
        response.headers["X-Request-ID"] = getattr(g, "request_id", None) or uuid.uuid4().hex
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if request.path.startswith("/api/") and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.teardown_request
    def discard_session(exc: BaseException | None) -> None:
        if exc is not None:
            safe_rollback()
