"""Token checks: JWT loaders answering 401 in the one error shape, and route decorators."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

import jwt as pyjwt
from flask import Flask, current_app, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_jwt_extended import get_jwt, verify_jwt_in_request
from sqlalchemy import bindparam, select

from app.accounts.models import AuthSession, User
from app.platform import session_cache
from app.platform.db_events import BEFORE_BEGIN
from app.platform.errors import Forbidden, Unauthorized, error_response
from app.platform.extensions import db, jwt

BEARER = {"WWW-Authenticate": "Bearer"}
VERIFIED_TOKENS = "parkmind_verified_tokens"  # app.extensions: this app's VerifiedTokens

# The token check's one query, built once: the session's revocation and its user's state.
SESSION_CHECK = (
    select(AuthSession.revoked_at, User.role, User.is_active)
    .join(User, User.id == AuthSession.user_id)
    .where(AuthSession.id == bindparam("sid"), AuthSession.user_id == bindparam("uid"))
)


BEFORE_BEGIN_READ = {BEFORE_BEGIN: True}


class Identity:
    """Who the verified token speaks for: ids and role from the token check's one row."""

    __slots__ = ("role", "session_id", "user_id")

    def __init__(self, session_id: str, user_id: int, role: str) -> None:
        self.session_id, self.user_id, self.role = session_id, user_id, role


def check_session(payload: dict) -> Identity | None:
    """The token's live session (not revoked, user active), or None. The database decides on
    every request, so a revocation or deactivation takes effect at once and survives restarts;
    with Redis its answer is remembered until anything about the session changes (see
    :mod:`app.platform.session_cache`): one ``MGET``, no SQL."""
    sid = payload.get("sid")
    try:
        user_id = int(payload.get("sub"))
    except (TypeError, ValueError):
        return None
    if not isinstance(sid, str):
        return None
    cached = session_cache.read(sid, user_id)
    if cached.role is not None:
        return Identity(sid, user_id, cached.role)
    session = db.session()
    session.flush()  # as an ORM query would autoflush (a no-op unless objects are pending)
    # On SQLite, a standalone read: the view's own transaction begins with its first statement
    # (a write view's BEGIN IMMEDIATE), not here.
    row = (
        session.connection()
        .execute(SESSION_CHECK, {"sid": sid, "uid": user_id}, execution_options=BEFORE_BEGIN_READ)
        .first()
    )
    if row is None or row[0] is not None or not row[2]:
        return None
    session_cache.store(sid, user_id, row[1], cached)
    return Identity(sid, user_id, row[1])


def _unauthorized(code: str, message: str):
    return error_response(401, code, message, headers=BEARER)


class CookieSessionOnDemand(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with no signer built for requests that carry no cookie.

    The API authenticates with Bearer tokens, so almost no request has a session cookie; the
    result is the same empty session Flask would open, without the per-request signer setup.
    """

    def open_session(self, app: Flask, request):  # type: ignore[override]
        if "HTTP_COOKIE" not in request.environ and app.secret_key:
            return self.session_class()
        return super().open_session(app, request)


def register_jwt_handlers(app: Flask) -> None:
    """Make every token failure a 401 (the library's default is 422) and load the user once."""
    app.session_interface = CookieSessionOnDemand()

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

    @jwt.token_verification_loader
    def has_expiry(header: dict, payload: dict) -> bool:
        # Every token this app issues expires; one without ``exp`` is not ours.
        return "exp" in payload

    @jwt.token_verification_failed_loader
    def unverified_claims(header: dict, payload: dict):
        return _unauthorized("token_invalid", "The token is invalid.")

    @jwt.user_lookup_error_loader
    def unknown_user(header: dict, payload: dict):
        return _unauthorized("token_revoked", "The token has been revoked.")

    @jwt.token_in_blocklist_loader
    def token_revoked(header: dict, payload: dict) -> bool:
        # The session and its user together (one query, or one Redis read of its remembered
        # answer). A revoked session or a deactivated user makes the token unusable. Stored in
        # the database, so it survives restarts and a Redis flush.
        identity = check_session(payload)
        if identity is None:
            return True
        _remember(identity)
        return False

    @jwt.user_lookup_loader
    def load_user(header: dict, payload: dict) -> Identity | None:
        return g.get("identity")

    @jwt.additional_claims_loader
    def role_claim(identity: Any) -> dict:
        return {}


def _remember(identity: Identity) -> None:
    request_globals = vars(g._get_current_object())
    request_globals["identity"] = identity
    request_globals.pop("current_user", None)
    request_globals.pop("auth_session", None)


def current_identity() -> Identity:
    """Ids and role of this request's verified token (no further query)."""
    identity = g.get("identity")
    if identity is None:
        raise Unauthorized()
    return identity


def current_user_id() -> int:
    """The authenticated user's id (no further query)."""
    return current_identity().user_id


def current_user() -> User:
    """The authenticated user of this request (loaded on first use)."""
    user = g.get("current_user")
    if user is None:
        user = db.session.get(User, current_identity().user_id)
        if user is None:
            raise Unauthorized()
        g.current_user = user
    return user


def current_session() -> AuthSession:
    """The login session of this request's token (loaded on first use)."""
    session = g.get("auth_session")
    if session is None:
        session = db.session.get(AuthSession, current_identity().session_id)
        if session is None:
            raise Unauthorized()
        g.auth_session = session
    return session


def _verify_fast(refresh: bool) -> bool:
    """The usual case in one pass: a well-formed Bearer header, one signature check (once per
    token and process: :class:`VerifiedTokens`), one session check (a query, or one Redis read).

    Anything unusual (no or odd header, a bad, expired or revoked token, the wrong type) answers
    False, and the caller runs Flask-JWT-Extended's full check, which raises the matching error.
    Flask-JWT-Extended decodes every token twice: its full check costs ~120 µs more per
    authenticated request (measured here through the test client: GET /lots/{id} 558 → 440 µs
    CPU). The ``g`` entries it reads afterwards are pinned by tests/platform/test_library_pins.py.
    """
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or " " in header[7:] or "," in header:
        return False
    config = current_app.config
    algorithms = config.get("JWT_DECODE_ALGORITHMS") or [config["JWT_ALGORITHM"]]
    if (
        config.get("JWT_TOKEN_LOCATION") != ["headers"]
        or config.get("JWT_DECODE_AUDIENCE")
        or not all(name.startswith("HS") for name in algorithms)
    ):
        return False
    token = header[7:]
    verified = _verified_tokens()
    decoded = verified.get(token)
    if decoded is None:
        decoded = _decode(token, config, algorithms)
        if decoded is None:
            return False
        verified.put(token, decoded)
    elif not _still_valid(decoded["payload"], config):
        verified.drop(token)
        return False  # expired since it was verified: the full check answers token_expired
    payload = dict(decoded["payload"])  # this request's own copy
    if config.get("JWT_IDENTITY_CLAIM", "sub") not in payload:
        return False
    payload.setdefault("type", "access")
    payload.setdefault("fresh", False)
    payload.setdefault("jti", None)
    if (payload["type"] == "refresh") != refresh:
        return False
    identity = check_session(payload)
    if identity is None:
        return False
    _remember(identity)
    # What Flask-JWT-Extended's own check leaves behind, so its helpers (get_jwt...) work.
    vars(g._get_current_object()).update(
        _jwt_extended_jwt_user={"loaded_user": identity},
        _jwt_extended_jwt_header=decoded["header"],
        _jwt_extended_jwt=payload,
        _jwt_extended_jwt_location="headers",
    )
    return True


def _decode(token: str, config, algorithms: list[str]) -> dict | None:
    """The token's header and payload when its signature and claims check out, else None."""
    try:
        return pyjwt.api_jwt.decode_complete(
            token,
            config["JWT_SECRET_KEY"],
            algorithms=algorithms,
            issuer=config.get("JWT_DECODE_ISSUER"),
            leeway=config.get("JWT_DECODE_LEEWAY", 0),
            options={
                "verify_aud": False,
                "verify_sub": config.get("JWT_VERIFY_SUB", True),
                # Every token this app issues expires; one without ``exp`` is not ours.
                "require": ["exp"],
            },
        )
    except pyjwt.PyJWTError:
        return None


def _still_valid(payload: dict, config) -> bool:
    """A remembered token's time claims now: ``exp`` (with the leeway) has not passed. ``nbf``
    and ``iat`` held when it was verified, and time only moves forward."""
    leeway = config.get("JWT_DECODE_LEEWAY", 0)
    if isinstance(leeway, timedelta):
        leeway = leeway.total_seconds()
    return time.time() < payload["exp"] + leeway


class VerifiedTokens:
    """Tokens whose signature this process verified, with what they decoded to.

    The same access token comes back on every request of its 15 minutes; its HMAC and claims
    are checked once, then its bytes are looked up (a dict read against ~40 µs of decoding).
    Keyed by the exact token text, so nothing unverified can match; kept per app (each has its
    secret) and bounded: past ``limit`` tokens the oldest is dropped. Expiry is checked on
    every use; revocation is the session check's, which runs on every request regardless.
    """

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._tokens: dict[str, dict] = {}

    def get(self, token: str) -> dict | None:
        return self._tokens.get(token)

    def put(self, token: str, decoded: dict) -> None:
        tokens = self._tokens
        while len(tokens) >= self.limit:
            try:
                tokens.pop(next(iter(tokens)), None)
            except (StopIteration, RuntimeError):  # emptied or changed by another thread
                break
        tokens[token] = decoded

    def drop(self, token: str) -> None:
        self._tokens.pop(token, None)

    def __len__(self) -> int:
        return len(self._tokens)


def _verified_tokens() -> VerifiedTokens:
    extensions = current_app.extensions
    verified = extensions.get(VERIFIED_TOKENS)
    if verified is None:
        verified = extensions.setdefault(VERIFIED_TOKENS, VerifiedTokens())
    return verified


def auth_required(role: str | None = None, refresh: bool = False) -> Callable:
    """Require a valid access (or refresh) token, and optionally a role (403 otherwise)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            if not _verify_fast(refresh):
                verify_jwt_in_request(refresh=refresh)
            if role is not None and current_identity().role != role:
                raise Forbidden()
            return view(*args, **kwargs)

        wrapper._auth_role = role  # type: ignore[attr-defined]
        wrapper._auth_refresh = refresh  # type: ignore[attr-defined]
        return wrapper

    return decorator


def token_claims() -> dict:
    """The verified token's claims."""
    return get_jwt()
