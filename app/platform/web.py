"""Route helpers shared by the blueprints: error docs and the ``201 + Location`` response."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app, request, url_for
from werkzeug.routing import IntegerConverter

from app.platform.auth import auth_required
from app.platform.blueprint import Blueprint
from app.platform.schemas import MAX_ID, ErrorSchema

API_PREFIX = "/api/v1"


class IdConverter(IntegerConverter):
    """``<id:name>``: a database id in a URL. One outside 1..2**31 - 1 names no row, so it
    arrives as 0, which matches none: the domain answers its own 404 (``booking_not_found``...)
    and no view or service checks id ranges itself."""

    NO_ROW = 0

    def to_python(self, value: str) -> int:
        number = int(value)
        return number if 1 <= number <= MAX_ID else self.NO_ROW


def id_param_schema(converter: IdConverter) -> dict:
    """The OpenAPI schema of an ``<id:...>`` path parameter."""
    return {"type": "integer", "minimum": 1, "maximum": MAX_ID}


ERROR_DESCRIPTIONS = {
    400: "Malformed request (for example invalid JSON).",
    401: "Missing, invalid, expired or revoked token.",
    403: "Authenticated, but not allowed.",
    404: "Not found (or not yours).",
    409: "Conflicts with the current state.",
    413: "Body too large.",
    422: "Validation failed; `fields` says which.",
    429: "Rate limited; see `Retry-After`.",
    503: "A dependency is unavailable.",
}


def document(view: Callable, *doc_decorators: Callable) -> Callable:
    """Apply flask-smorest decorators that only document (``doc``, ``alt_response``)."""
    for decorator in doc_decorators:
        view = decorator(view)
    return view


def errors(blp: Blueprint, *codes: int) -> Callable:
    """Document the error responses a route can give, all in the one error shape."""

    def decorator(view: Callable) -> Callable:
        return document(
            view,
            *(
                blp.alt_response(
                    code, schema=ErrorSchema, description=ERROR_DESCRIPTIONS.get(code, "Error")
                )
                for code in codes
            ),
        )

    return decorator


def protected(blp: Blueprint, *codes: int, role: str | None = None, refresh: bool = False):
    """Require a Bearer token (and a role), and document it with the usual error responses."""
    standard = (401, 403) if role else (401,)

    def decorator(view: Callable) -> Callable:
        view = auth_required(role=role, refresh=refresh)(view)
        view = errors(blp, *standard, *codes)(view)
        return document(view, blp.doc(security=[{"bearerAuth": []}]))

    return decorator


class Location:
    """A resource's address, built when the response's headers are set: after a write view's
    transaction has ended, so the write lock (SQLite's, for the whole database) does not cover
    building it. Werkzeug turns a header value into text with ``str()``."""

    __slots__ = ("endpoint", "values")

    def __init__(self, endpoint: str, **values: Any) -> None:
        self.endpoint, self.values = endpoint, values

    def __str__(self) -> str:
        return url_for(self.endpoint, **self.values)


def created(body: Any, endpoint: str, **values: Any) -> tuple[Any, int, dict[str, Location]]:
    """A 201 with the new resource's ``Location``."""
    return body, 201, {"Location": Location(endpoint, **values)}


@dataclass(frozen=True)
class ClientInfo:
    """Who is calling, as far as a request tells: passed to services, which never read it."""

    ip_address: str | None = None
    user_agent: str | None = None


def client_info() -> ClientInfo:
    """The current request's client address (after ProxyFix) and user agent."""
    return ClientInfo(
        ip_address=request.remote_addr,
        user_agent=(request.headers.get("User-Agent") or "")[:255] or None,
    )


def public_link(path: str) -> str:
    """``path`` on the public address of the app (``PUBLIC_BASE_URL``), for e-mails."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return f"{base}{path}"


def file_download(blp: Any, description: str, *content_types: str) -> Callable:
    """Document a 200 that is a file of one of ``content_types`` (not JSON)."""
    content = {
        kind: {"schema": {"type": "string", "contentMediaType": kind}} for kind in content_types
    }
    return blp.doc(responses={"200": {"description": description, "content": content}})
