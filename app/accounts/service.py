"""Accounts: registration, login sessions with rotating refresh tokens, profile, passwords."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.accounts.models import DEFAULT_PREFERENCES, AuthSession, User
from app.accounts.passwords import hash_password, needs_rehash, verify_password
from app.platform.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from app.platform.extensions import db
from app.platform.models import utcnow
from app.platform.web import API_PREFIX, ClientInfo, public_link
from app.uploads.service import discard_uploads, photo_url, ready_upload

ADMIN_PASSWORD_MIN_LENGTH = 12


def canonical_login(*, login: str) -> str:
    """A username or e-mail address as the account it names: NFKC (a full-width letter is the
    letter), no invisible format characters (zero-width spaces and joiners), case-folded."""
    folded = unicodedata.normalize("NFKC", login)
    visible = "".join(char for char in folded if unicodedata.category(char) != "Cf")
    return visible.strip().casefold()


def normalize_email(email: str) -> str:
    """E-mail addresses are stored and compared in their canonical form."""
    return canonical_login(login=email)


def find_user_by_login(login: str) -> User | None:
    """A user by username or e-mail address, however the login is spelled."""
    canonical = canonical_login(login=login)
    return db.session.scalar(
        select(User).where(
            or_(
                User.username == login.strip(),
                User.username == canonical,
                User.email == canonical,
            )
        )
    )


def create_user(
    *,
    username: str,
    email: str,
    password: str,
    role: str = "user",
    full_name: str | None = None,
    phone: str | None = None,
    vehicle_number: str | None = None,
) -> User:
    """Create an account; 409 when the username or e-mail is taken."""
    email = normalize_email(email)
    taken = db.session.execute(
        select(User.username, User.email).where(or_(User.username == username, User.email == email))
    ).all()
    for taken_username, taken_email in taken:
        if taken_username == username:
            raise Conflict("This username is taken.", code="username_taken")
        if taken_email == email:
            raise Conflict("An account with this e-mail already exists.", code="email_taken")
    user = User(
        username=username,
        email=email,
        password_hash=hash_password(password),
        role=role,
        full_name=full_name,
        phone=phone,
        vehicle_number=vehicle_number,
        preferences={},
    )
    db.session.add(user)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise Conflict("Username or e-mail already registered.", code="already_exists") from exc
    with_avatar_url(user)
    return user


def _issue_tokens(user: User, session: AuthSession) -> dict:
    claims = {"sid": session.id, "role": user.role}
    access = create_access_token(identity=str(user.id), additional_claims=claims)
    refresh = create_refresh_token(identity=str(user.id), additional_claims={"sid": session.id})
    session.refresh_jti = decode_token(refresh, allow_expired=True)["jti"]
    expires = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": int(expires.total_seconds()),
        "user": with_avatar_url(user),
    }


def start_session(user: User, *, client: ClientInfo | None = None) -> dict:
    """Open a login session for ``user`` and issue its first token pair."""
    client = client or ClientInfo()
    now = utcnow()
    session = AuthSession(
        id=str(uuid.uuid4()),
        user_id=user.id,
        refresh_jti="",
        created_at=now,
        last_used_at=now,
        expires_at=now + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"],
        user_agent=client.user_agent,
        ip_address=client.ip_address,
    )
    db.session.add(session)
    tokens = _issue_tokens(user, session)
    user.last_login_at = now
    db.session.flush()
    return tokens


def login(*, login: str, password: str, client: ClientInfo | None = None) -> dict:
    """Check credentials and open a session. Unknown user and wrong password look the same."""
    user = find_user_by_login(login)
    valid = verify_password(user.password_hash if user else None, password)
    if not valid or user is None or not user.is_active:
        raise Unauthorized("Invalid login or password.", code="invalid_credentials")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return start_session(user, client=client)


class RefreshTokenReused(Unauthorized):
    """A rotated refresh token came back: its session is revoked, and that revocation stays."""


def rotate_refresh(*, session: AuthSession, user: User, jti: str) -> dict:
    """Exchange a refresh token for a new pair; reusing a rotated one revokes the family."""
    # The current refresh token, read under the session's row lock: two uses of one token at
    # once give one winner, and the other is a reuse.
    db.session.refresh(session, with_for_update=True)
    if session.refresh_jti != jti:
        revoke_session(session, reason="refresh_reuse")
        raise RefreshTokenReused(
            "This refresh token was already used; the session has been revoked.",
            code="token_reused",
        )
    if session.expires_at <= utcnow():
        raise Unauthorized("The session has expired.", code="token_expired")
    session.last_used_at = utcnow()
    tokens = _issue_tokens(user, session)
    db.session.flush()
    return tokens


def revoke_session(session: AuthSession, *, reason: str) -> None:
    """Revoke a session: every access and refresh token it issued stops working."""
    if session.revoked_at is None:
        session.revoked_at = utcnow()
        session.revoked_reason = reason
    db.session.flush()


def logout(*, session: AuthSession, user_id: int, refresh_token: str | None) -> None:
    """Revoke the current session, and the session of ``refresh_token`` if it is the user's."""
    revoke_session(session, reason="logout")
    if refresh_token:
        try:
            claims = decode_token(refresh_token, allow_expired=True)
        except Exception as exc:
            raise ValidationFailed(
                "The refresh token is invalid.", fields={"refresh_token": ["Invalid token."]}
            ) from exc
        other = db.session.get(AuthSession, claims.get("sid"))
        if other is not None and other.user_id == user_id:
            revoke_session(other, reason="logout")


def revoke_other_sessions(user: User, *, keep_session_id: str | None) -> int:
    """Revoke every open session of ``user`` but one."""
    stmt = (
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason="password_change")
        # Names the user whose sessions change, so only their remembered checks are voided.
        .execution_options(session_user_id=user.id)
    )
    if keep_session_id is not None:
        stmt = stmt.where(AuthSession.id != keep_session_id)
    result = db.session.execute(stmt)
    return result.rowcount or 0


def change_password(
    *, user: User, current_password: str, new_password: str, session_id: str
) -> None:
    """Change the password after checking the current one; other sessions are revoked."""
    if not verify_password(user.password_hash, current_password):
        raise ValidationFailed(
            "The current password is wrong.",
            fields={"current_password": ["The current password is wrong."]},
        )
    user.password_hash = hash_password(new_password)
    revoke_other_sessions(user, keep_session_id=session_id)
    db.session.flush()


def with_avatar_url(user: User) -> User:
    """``user`` with ``avatar_url``: a signed, short-lived link to the avatar, or None."""
    user.avatar_url = photo_url(user.avatar_upload_id)
    return user


def get_profile(*, user_id: int) -> User:
    """The user's own profile, avatar link included."""
    user = get_user(user_id)
    return with_avatar_url(user)


def update_profile(*, user_id: int, changes: dict) -> User:
    """Apply allowed profile changes (the schema has already rejected anything else)."""
    user = get_user(user_id)
    if "email" in changes:
        email = normalize_email(changes.pop("email"))
        if email != user.email:
            clash = db.session.scalar(select(User.id).where(User.email == email))
            if clash is not None:
                raise Conflict("An account with this e-mail already exists.", code="email_taken")
            user.email = email
    if "preferences" in changes:
        user.preferences = {**(user.preferences or {}), **changes.pop("preferences")}
    if "avatar_upload_id" in changes:
        set_avatar(user, changes.pop("avatar_upload_id"))
    for name, value in changes.items():
        setattr(user, name, value)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        # Another request took the e-mail between the check above and this write.
        raise Conflict("An account with this e-mail already exists.", code="email_taken") from exc
    return with_avatar_url(user)


def set_avatar(user: User, upload_id: int | None) -> None:
    """Use one of the user's ready avatar uploads (or none); the previous one is discarded."""

    if upload_id is not None and upload_id != user.avatar_upload_id:
        ready_upload(
            user_id=user.id, upload_id=upload_id, purposes=("avatar",), field="avatar_upload_id"
        )
    previous = user.avatar_upload_id
    user.avatar_upload_id = upload_id
    if previous is not None and previous != upload_id:
        discard_uploads([previous])


def create_admin(*, email: str, password: str, username: str | None = None) -> User:
    """Create (or promote) an admin; refuses passwords under 12 characters."""
    if len(password) < ADMIN_PASSWORD_MIN_LENGTH:
        raise ValidationFailed(
            f"Admin passwords need at least {ADMIN_PASSWORD_MIN_LENGTH} characters.",
            fields={"password": [f"At least {ADMIN_PASSWORD_MIN_LENGTH} characters."]},
        )
    email = normalize_email(email)
    existing = db.session.scalar(select(User).where(User.email == email))
    if existing is not None:
        existing.role = "admin"
        existing.is_active = True
        existing.password_hash = hash_password(password)
        db.session.flush()
        return existing
    base = username or email.split("@", 1)[0][:48] or "admin"
    candidate, suffix = base, 1
    while db.session.scalar(select(func.count()).where(User.username == candidate)):
        suffix += 1
        candidate = f"{base}{suffix}"
    return create_user(username=candidate, email=email, password=password, role="admin")


def get_user(user_id: int) -> User:
    """A user by id, or 404."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    return user


def set_user_status(user: User, *, is_active: bool | None, role: str | None) -> User:
    """Admin: activate/deactivate or change a role; deactivation revokes every session."""
    if role is not None:
        user.role = role
    if is_active is not None:
        user.is_active = is_active
        if not is_active:
            revoke_other_sessions(user, keep_session_id=None)
    db.session.flush()
    return user


def session_expires(session: AuthSession) -> datetime:
    """When a session's refresh tokens stop working."""
    return session.expires_at


# --- one-click unsubscribe (RFC 8058) -------------------------------------------------------------

# The preferences an e-mail's unsubscribe link can turn off: reminders, the monthly report, and
# notices by e-mail (``preferences.notify.email``).
UNSUBSCRIBE_PREFERENCES = ("email_reminders", "monthly_report", "notify.email")
UNSUBSCRIBE_SALT = "parkmind.unsubscribe"


def _unsubscribe_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(*, user_id: int, preference: str) -> str:
    """The public one-click link that turns ``preference`` off for ``user_id`` (the signature
    is the authorisation; it works for ``UNSUBSCRIBE_LINK_TTL``)."""
    if preference not in UNSUBSCRIBE_PREFERENCES:
        raise ValueError(f"not a preference one can unsubscribe from: {preference!r}")
    token = _unsubscribe_serializer().dumps({"u": user_id, "p": preference})
    return public_link(f"{API_PREFIX}/unsubscribe/{token}")


def _unsubscribe_claim(token: str) -> tuple[int, str]:
    """The user and preference signed into ``token``; 403 when forged or expired."""
    max_age = current_app.config["UNSUBSCRIBE_LINK_TTL"].total_seconds()
    try:
        payload = _unsubscribe_serializer().loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise Forbidden("This link has expired.", code="signature_expired") from exc
    except BadSignature as exc:
        raise Forbidden("This link is not valid.", code="invalid_signature") from exc
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("u"), int)
        or payload.get("p") not in UNSUBSCRIBE_PREFERENCES
    ):
        raise Forbidden("This link is not valid.", code="invalid_signature")
    return payload["u"], payload["p"]


def _subscribed(preferences: dict | None, preference: str) -> bool:
    settings = preferences or {}
    if preference == "notify.email":
        return (settings.get("notify") or {}).get("email") is not False
    return bool({**DEFAULT_PREFERENCES, **settings}.get(preference, True))


def unsubscribe_status(*, token: str) -> dict:
    """What the link ``token`` turns off, and whether it is still on (changes nothing)."""
    user_id, preference = _unsubscribe_claim(token)
    user = db.session.get(User, user_id)
    subscribed = user is not None and user.is_active and _subscribed(user.preferences, preference)
    return {"preference": preference, "subscribed": subscribed}


def unsubscribe(*, token: str) -> dict:
    """Turn off the preference signed into ``token``; doing it twice changes nothing more."""
    user_id, preference = _unsubscribe_claim(token)
    user = db.session.get(User, user_id)
    # An erased account has no address any more: nothing to turn off, and nothing to reveal.
    if user is not None and _subscribed(user.preferences, preference):
        preferences = dict(user.preferences or {})
        if preference == "notify.email":
            preferences["notify"] = {**(preferences.get("notify") or {}), "email": False}
        else:
            preferences[preference] = False
        user.preferences = preferences
        db.session.flush()
    return {"preference": preference, "subscribed": False}
