"""Route helpers shared by the blueprints: error docs and the ``201 + Location`` response."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import url_for

from app.api.blueprint import Blueprint
from app.auth import auth_required
from app.schemas.common import ErrorSchema

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


def errors(blp: Blueprint, *codes: int) -> Callable:
    """Document the error responses a route can give, all in the one error shape."""

    def decorator(view: Callable) -> Callable:
        for code in codes:
            view = blp.alt_response(
                code, schema=ErrorSchema, description=ERROR_DESCRIPTIONS.get(code, "Error")
            )(view)
        return view

    return decorator


def protected(blp: Blueprint, *codes: int, role: str | None = None, refresh: bool = False):
    """Require a Bearer token (and a role), and document it with the usual error responses."""
    standard = (401, 403) if role else (401,)

    def decorator(view: Callable) -> Callable:
        view = auth_required(role=role, refresh=refresh)(view)
        view = errors(blp, *standard, *codes)(view)
        return blp.doc(security=[{"bearerAuth": []}])(view)

    return decorator


def created(body: Any, endpoint: str, **values: Any) -> tuple[Any, int, dict[str, str]]:
    """A 201 with the new resource's ``Location``."""
    return body, 201, {"Location": url_for(endpoint, **values)}
