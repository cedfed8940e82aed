"""Route helpers shared by the blueprints: error docs and the ``201 + Location`` response."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import request, url_for

from app.platform.auth import auth_required
from app.platform.blueprint import Blueprint
from app.platform.schemas import ErrorSchema

API_PREFIX = "/api/v1"

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


def created(body: Any, endpoint: str, **values: Any) -> tuple[Any, int, dict[str, str]]:
    """A 201 with the new resource's ``Location``."""
    return body, 201, {"Location": url_for(endpoint, **values)}


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
