"""Token checks: JWT loaders answering 401 in the one error shape, and route decorators."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, g
from flask_jwt_extended import get_jwt, verify_jwt_in_request

from app.errors import Forbidden, Unauthorized, error_response
from app.extensions import db, jwt
from app.models import AuthSession, User

BEARER = {"WWW-Authenticate": "Bearer"}


def _unauthorized(code: str, message: str):
    return error_response(401, code, message, headers=BEARER)


def register_jwt_handlers(app: Flask) -> None:
    """Make every token failure a 401 (the library's default is 422) and load the user once."""

    @jwt.unauthorized_loader
    def missing_token(reason: str):
        return _unauthorized("token_missing", "A Bearer access token is required.")

    @jwt.invalid_token_loader
    def invalid_token(reason: str):
        return _unauthorized("token_invalid", "The token is invalid.")

    @jwt.expired_token_loader
    def expired_token(header: dict, payload: dict):
        return _unauthorized("token_expired", "The token has expired.")

    @jwt.revoked_token_loader
    def revoked_token(header: dict, payload: dict):
        return _unauthorized("token_revoked", "The token has been revoked.")

    @jwt.needs_fresh_token_loader
    def stale_token(header: dict, payload: dict):
        return _unauthorized("fresh_token_required", "A fresh login is required.")

    @jwt.user_lookup_error_loader
    def unknown_user(header: dict, payload: dict):
        return _unauthorized("token_revoked", "The token has been revoked.")

    @jwt.token_in_blocklist_loader
    def token_revoked(header: dict, payload: dict) -> bool:
        # One query per request: the session and its user together. A revoked or expired
        # session, a refresh token that is not the session's current one, or a deactivated
        # user all make the token unusable. Stored in the database, so it survives restarts.
        sid = payload.get("sid")
        try:
            user_id = int(payload.get("sub"))
        except (TypeError, ValueError):
            return True
        if not isinstance(sid, str):
            return True
        row = db.session.execute(
            db.select(AuthSession, User)
            .join(User, User.id == AuthSession.user_id)
            .where(AuthSession.id == sid, AuthSession.user_id == user_id)
        ).first()
        if row is None:
            return True
        session, user = row
        if session.revoked_at is not None or not user.is_active:
            return True
        g.auth_session = session
        g.current_user = user
        return False

    @jwt.user_lookup_loader
    def load_user(header: dict, payload: dict) -> User | None:
        return g.get("current_user")

    @jwt.additional_claims_loader
    def role_claim(identity: Any) -> dict:
        return {}


def current_user() -> User:
    """The authenticated user of this request."""
    user = g.get("current_user")
    if user is None:
        raise Unauthorized()
    return user


def current_session() -> AuthSession:
    """The login session of this request's token."""
    return g.auth_session


def auth_required(role: str | None = None, refresh: bool = False) -> Callable:
    """Require a valid access (or refresh) token, and optionally a role (403 otherwise)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            verify_jwt_in_request(refresh=refresh)
            if role is not None and current_user().role != role:
                raise Forbidden()
            return view(*args, **kwargs)

        wrapper._auth_role = role  # type: ignore[attr-defined]
        wrapper._auth_refresh = refresh  # type: ignore[attr-defined]
        return wrapper

    return decorator


def token_claims() -> dict:
    """The verified token's claims."""
    return get_jwt()
