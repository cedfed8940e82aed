"""Domain errors and the one JSON error shape every failure is answered with.

``{"error": {"status", "code", "message", "fields"?, "request_id"}}``: services raise
:class:`AppError` subclasses; the handlers here turn them, HTTP errors, validation errors, JWT
failures and anything unexpected into that shape. No stack trace or SQL reaches a client.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, g, jsonify, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    410: "gone",
    411: "length_required",
    412: "precondition_failed",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_error",
    428: "precondition_required",
    429: "rate_limited",
    431: "request_header_fields_too_large",
    500: "internal_error",
    501: "not_implemented",
    503: "service_unavailable",
}

HTTP_MESSAGES = {
    400: "The request could not be understood.",
    401: "Authentication is required.",
    403: "You do not have permission to do this.",
    404: "The requested resource was not found.",
    405: "This method is not allowed on this resource.",
    413: "The request body is too large.",
    422: "Request body is invalid.",
    429: "Too many requests; slow down and retry later.",
    500: "An unexpected error occurred.",
    503: "A service the API depends on is unavailable; retry shortly.",
}


# What a 422 says when only one part of the request is at fault.
LOCATION_MESSAGES = {
    frozenset({"query"}): "Query parameters are invalid.",
    frozenset({"headers"}): "Request headers are invalid.",
    frozenset({"json"}): HTTP_MESSAGES[422],
}


class AppError(Exception):
    """An error with an HTTP status and a stable snake_case code clients can switch on."""

    status: int = 400
    code: str = "bad_request"
    message: str = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        fields: dict | None = None,
        headers: dict | None = None,
    ) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.code = code or self.code
        self.status = status or self.status
        self.fields = fields
        self.headers = headers or {}


class BadRequest(AppError):
    status, code, message = 400, "bad_request", "The request could not be understood."


class ValidationFailed(AppError):
    status, code, message = 422, "validation_error", "Request body is invalid."


class Unauthorized(AppError):
    status, code, message = 401, "unauthorized", "Authentication is required."

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        super().__init__(message, code=code, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(AppError):
    status, code, message = 403, "forbidden", "You do not have permission to do this."


class NotFound(AppError):
    status, code, message = 404, "not_found", "The requested resource was not found."


class Conflict(AppError):
    status, code, message = 409, "conflict", "The request conflicts with the current state."


class InvalidTransition(Conflict):
    code = "invalid_transition"
    message = "That change of state is not allowed."


class ServiceUnavailable(AppError):
    status, code = 503, "service_unavailable"
    message = "A service the API depends on is unavailable; retry shortly."


def error_body(status: int, code: str, message: str, fields: dict | None = None) -> dict[str, Any]:
    """The contract's error object."""
    error: dict[str, Any] = {"status": status, "code": code, "message": message}
    if fields:
        error["fields"] = fields
    error["request_id"] = getattr(g, "request_id", None)
    return {"error": error}


def error_response(
    status: int,
    code: str,
    message: str,
    fields: dict | None = None,
    headers: dict | None = None,
):
    """Render the one error shape."""
    response = jsonify(error_body(status, code, message, fields))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_messages(messages: Any) -> dict[str, list[str]]:
    """Turn webargs' ``{"json": {"a": {"b": [..]}}}`` into ``{"a.b": [..]}``."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if prefix == "" and key in ("json", "query", "form", "headers", "path", "files"):
                    walk("", inner)
                else:
                    walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            flat.setdefault(prefix or "_schema", []).extend(value)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(f"{prefix}.{index}" if prefix else str(index), inner)
        else:
            flat.setdefault(prefix or "_schema", []).append(str(value))

    walk("", messages)
    return flat


def handle_app_error(exc: AppError):
    return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)


def handle_http_exception(exc: HTTPException):
    status = exc.code or 500
    headers: dict[str, str] = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    if status == 429:
        # Flask-Limiter adds Retry-After in after_request; also set it here for clients.
        limit = getattr(exc, "limit", None)
        if limit is not None:
            headers["Retry-After"] = str(int(limit.limit.get_expiry()))
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if status == 422 and messages is not None:
        where = set(messages) if isinstance(messages, dict) else set()
        message = LOCATION_MESSAGES.get(frozenset(where), HTTP_MESSAGES[422])
        return error_response(422, "validation_error", message, flatten_messages(messages), headers)
    if status == 400 and messages is not None:
        return error_response(400, "bad_request", "The request body is not valid JSON.")
    code = HTTP_CODES.get(status, "http_error")
    message = HTTP_MESSAGES.get(status) or (exc.description or exc.name)
    if status == 404 and request.url_rule is not None and exc.description:
        message = HTTP_MESSAGES[404]
    return error_response(status, code, message, None, headers)


def handle_db_unavailable(exc: Exception):
    log.exception("database unavailable", extra={"request_id": getattr(g, "request_id", None)})
    return error_response(
        503, "database_unavailable", HTTP_MESSAGES[503], None, {"Retry-After": "1"}
    )


def handle_unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    if isinstance(exc, AppError):
        return handle_app_error(exc)
    if isinstance(exc, OperationalError | DBAPIError) and is_connection_error(exc):
        return handle_db_unavailable(exc)
    log.exception("unhandled error on %s %s", request.method, request.path)
    metrics = current_app.extensions.get("request_metrics")
    if metrics is not None:
        metrics.exception(request.method)
    return error_response(500, "internal_error", HTTP_MESSAGES[500])


CONNECTION_ERROR_CODES = {2002, 2003, 2006, 2013, 2014, 2055, 1053, 1927, 4031}
# PostgreSQL SQLSTATEs of the same kind: the session terminated or the server shutting down or
# starting (57P01-57P03), too many connections, and a statement cancelled by statement_timeout
# (PyMySQL's read timeout loses the connection on MariaDB: 2013). Class 08 is connection trouble.
CONNECTION_ERROR_SQLSTATES = {"57P01", "57P02", "57P03", "53300", "57014"}


def is_connection_error(exc: DBAPIError) -> bool:
    """True when the database went away (a 503, retryable) rather than a bug (a 500)."""
    if exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", None)
    if hasattr(orig, "sqlstate"):  # psycopg
        sqlstate = orig.sqlstate
        if sqlstate is None:
            # No answer from a server: psycopg could not connect or lost the connection.
            return isinstance(exc, OperationalError)
        return sqlstate.startswith("08") or sqlstate in CONNECTION_ERROR_SQLSTATES
    args = getattr(orig, "args", ())
    return bool(args) and isinstance(args[0], int) and args[0] in CONNECTION_ERROR_CODES


def register_error_handlers(app: Flask) -> None:
    """Route every error through the one shape (overrides flask-smorest's own handler)."""
    app.register_error_handler(AppError, handle_app_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
