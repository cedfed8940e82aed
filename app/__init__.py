"""ParkMind: the application factory."""

from __future__ import annotations

import logging
import re
import uuid
from inspect import iscoroutinefunction
from time import perf_counter
from types import FunctionType
from typing import Any

from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from config import engine_options, load_config, validate_config

log = logging.getLogger(__name__)

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ParkMindFlask(Flask):
    """Flask, remembering which functions are coroutines.

    Flask asks ``inspect.iscoroutinefunction`` about every hook and view on every request; the
    answer for a function never changes, so it is looked up once per function.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._coroutine_functions: dict[FunctionType, bool] = {}

    def ensure_sync(self, func):  # type: ignore[override]
        target = getattr(func, "__func__", func)  # a bound method: its function
        if type(target) is not FunctionType:
            return super().ensure_sync(func)
        is_coroutine = self._coroutine_functions.get(target)
        if is_coroutine is None:
            is_coroutine = self._coroutine_functions[target] = iscoroutinefunction(target)
        return self.async_to_sync(func) if is_coroutine else func


def create_app(app_env: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Build a configured ParkMind app. Nothing connects to a service here."""
    settings = load_config(app_env)
    app = ParkMindFlask(__name__, instance_relative_config=False)
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
    """The request hooks, kept few: each hook Flask runs has a fixed cost on every request."""
    import structlog

    from app import db_events
    from app.extensions import db, take_cors_hook
    from app.transactions import commit_response, safe_rollback

    metrics = app.extensions["request_metrics"]
    cors_after_request = take_cors_hook(app)
    bind_request_id = structlog.contextvars.bind_contextvars
    clear_context = structlog.contextvars.clear_contextvars

    def start_request() -> None:
        request_globals = g._get_current_object()
        request_globals.request_started = perf_counter()
        incoming = request.environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if REQUEST_ID_PATTERN.match(incoming) else uuid.uuid4().hex
        request_globals.request_id = request_id
        clear_context()
        bind_request_id(request_id=request_id)

    # First of all hooks, so a request the rate limiter refuses has its id and is counted too.
    app.before_request_funcs.setdefault(None, []).insert(0, start_request)

    @app.before_request
    def prepare_write() -> None:
        method = request.method
        if method not in WRITE_METHODS:
            return
        if db_events.is_sqlite():
            # SQLite allows one writer. A request that reads first and writes later in a
            # deferred transaction fails at once with "database is locked" when another writer
            # committed meanwhile (the busy timeout does not apply). Writes lock at BEGIN.
            db_events.begin_immediate(db.session)
        if (
            method == "PATCH"
            and request.url_rule is not None  # an unsupported method stays a 405
            and request.path.startswith("/api/")
            and not request.get_data(cache=True)
        ):
            # A PATCH without a body is a client mistake, not an empty change set.
            from app.errors import BadRequest

            raise BadRequest("A JSON body is required.", code="body_required")

    @app.after_request
    def finish_request(response):
        response = commit_response(response)
        current = request._get_current_object()
        request_globals = g._get_current_object()
        headers = response.headers
        headers["X-Request-ID"] = getattr(request_globals, "request_id", None) or uuid.uuid4().hex
        # One pass over the headers instead of a lookup per header.
        present = {key.lower() for key, _ in headers.items()}
        if "x-content-type-options" not in present:
            headers.add("X-Content-Type-Options", "nosniff")
        if "cache-control" not in present and current.path.startswith("/api/"):
            headers.add("Cache-Control", "no-store")
        if cors_after_request is not None and "HTTP_ORIGIN" in current.environ:
            # Without an Origin header a request is not a CORS request: no CORS headers.
            response = cors_after_request(response)
        started = getattr(request_globals, "request_started", None)
        if started is not None:
            rule = current.url_rule
            metrics.observe(
                current.method,
                rule.rule if rule is not None else None,
                response.status_code,
                perf_counter() - started,
            )
        return response

    @app.teardown_request
    def discard_session(exc: BaseException | None) -> None:
        if exc is not None:
            metrics.exception(request.method)
            safe_rollback()
