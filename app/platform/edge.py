"""The request edge: request id, the SQLite write lock, one commit per request, response headers
and request metrics. Kept to one hook at each end: each hook Flask runs has a fixed cost on every
request."""

from __future__ import annotations

import random
import re
from time import perf_counter

import structlog
from flask import Flask, g, request

from app.platform.extensions import take_cors_hook
from app.platform.transactions import commit_response, safe_rollback

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def new_request_id() -> str:
    """A fresh request id: 32 hex digits. It names a request in logs and answers and guards
    nothing, so it comes from the process's PRNG (reseeded in each forked worker) rather than
    from ``uuid4``, which makes a system call for its 16 random bytes on every request."""
    return f"{random.getrandbits(128):032x}"


def register_request_hooks(app: Flask) -> None:
    """The request hooks, kept few: each hook Flask runs has a fixed cost on every request."""

    metrics = app.extensions["request_metrics"]
    cors_after_request = take_cors_hook(app)
    bind_request_id = structlog.contextvars.bind_contextvars
    clear_context = structlog.contextvars.clear_contextvars

    def start_request() -> None:
        request_globals = g._get_current_object()
        request_globals.request_started = perf_counter()
        incoming = request.environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if REQUEST_ID_PATTERN.match(incoming) else new_request_id()
        request_globals.request_id = request_id
        clear_context()
        bind_request_id(request_id=request_id)

    # First of all hooks, so a request the rate limiter refuses has its id and is counted too.
    app.before_request_funcs.setdefault(None, []).insert(0, start_request)

    @app.after_request
    def finish_request(response):
        response = commit_response(response)
        current = request._get_current_object()
        request_globals = g._get_current_object()
        headers = response.headers
        headers["X-Request-ID"] = getattr(request_globals, "request_id", None) or new_request_id()
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
