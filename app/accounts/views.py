"""Registration, login, token refresh and logout."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView

from app.accounts import service as users
from app.accounts.schemas import (
    LoginSchema,
    LogoutSchema,
    PasswordChangeSchema,
    ProfileUpdateSchema,
    RegisterSchema,
    TokenSchema,
    UnsubscribeSchema,
    UserSchema,
)
from app.platform.auth import current_session, current_user, current_user_id, token_claims
from app.platform.blueprint import Blueprint
from app.platform.extensions import limiter
from app.platform.transactions import transaction
from app.platform.web import client_info, created, errors, protected
from app.privacy import service as privacy
from app.privacy.schemas import EraseAccountSchema

blp = Blueprint("auth", __name__, description="Accounts and tokens.")
me_blp = Blueprint("me", __name__, description="The current user.")
unsubscribe_blp = Blueprint(
    "unsubscribe", __name__, description="One-click unsubscribe links from e-mails."
)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _register_limit() -> str:
    return current_app.config["REGISTER_RATE_LIMIT"]


def _login_account_key() -> str:

    try:
        body = request.get_json(silent=True)
    except Exception:  # noqa: BLE001 - an oversized body is answered 413 by the view
        body = None
    login = body.get("login") if isinstance(body, dict) else None
    # The account, not the spelling: a full-width or zero-width variant counts as the same login.
    return f"account:{users.canonical_login(login=str(login))[:255]}" if login else "account:"


@blp.route("/register")
class Register(MethodView):
    decorators = [limiter.limit(_register_limit, methods=["POST"])]

    @blp.arguments(RegisterSchema)
    @transaction
    @blp.response(201, UserSchema)
    @errors(blp, 409, 429)
    def post(self, body):
        """Create an account."""
        user = users.create_user(**body)
        return created(user, "me.Me")


@blp.route("/login")
class Login(MethodView):
    decorators = [
        limiter.limit(_login_limit, methods=["POST"]),
        limiter.limit(_account_limit, key_func=_login_account_key, methods=["POST"]),
    ]

    @blp.arguments(LoginSchema)
    @transaction
    @blp.response(200, TokenSchema)
    @errors(blp, 401, 429)
    def post(self, body):
        """Log in with username or e-mail; returns an access and a refresh token."""
        return users.login(login=body["login"], password=body["password"], client=client_info())


@blp.route("/refresh")
class Refresh(MethodView):
    @protected(blp, refresh=True)
    @transaction(keep_on=(users.RefreshTokenReused,))
    @blp.response(200, TokenSchema)
    def post(self):
        """Rotate the refresh token: the old one is revoked; reusing it revokes the session."""
        return users.rotate_refresh(
            session=current_session(), user=current_user(), jti=token_claims()["jti"]
        )


@blp.route("/logout")
class Logout(MethodView):
    @protected(blp)
    @blp.arguments(LogoutSchema, required=False)
    @transaction
    @blp.response(204)
    def post(self, body):
        """Revoke this access token's session and, if given, the refresh token's."""
        users.logout(
            session=current_session(),
            user_id=current_user_id(),
            refresh_token=body.get("refresh_token"),
        )


def _erase_limit() -> str:
    return current_app.config.get("ERASE_ACCOUNT_RATE_LIMIT", "10 per hour")


@me_blp.route("")
class Me(MethodView):
    decorators = [limiter.limit(_erase_limit, methods=["DELETE"])]

    @protected(me_blp)
    @me_blp.response(200, UserSchema)
    def get(self):
        """The current user."""
        return users.get_profile(user_id=current_user_id())

    @protected(me_blp, 404, 409, 422)
    @me_blp.arguments(ProfileUpdateSchema)
    @transaction
    @me_blp.response(200, UserSchema)
    def patch(self, changes):
        """Update the profile (never role or is_active)."""
        return users.update_profile(user_id=current_user_id(), changes=changes)

    @protected(me_blp, 409, 422, 429)
    @me_blp.arguments(EraseAccountSchema)
    @transaction
    @me_blp.response(204)
    def delete(self, body):
        """Erase my account: personal data, photos, devices, circle; every session revoked.
        Payments and completed bookings are kept for the legal period, anonymised."""
        privacy.erase_own_account(user_id=current_user_id(), **body)


@me_blp.route("/password")
class Password(MethodView):
    @protected(me_blp, 422)
    @me_blp.arguments(PasswordChangeSchema)
    @transaction
    @me_blp.response(204)
    def post(self, body):
        """Change the password; every other session is revoked."""
        users.change_password(
            user=current_user(),
            current_password=body["current_password"],
            new_password=body["new_password"],
            session_id=current_session().id,
        )


@unsubscribe_blp.route("/unsubscribe/<token>")
class Unsubscribe(MethodView):
    @errors(unsubscribe_blp, 403)
    @unsubscribe_blp.response(200, UnsubscribeSchema)
    def get(self, token):
        """What this unsubscribe link turns off (changes nothing: link scanners follow GETs)."""
        return users.unsubscribe_status(token=token)

    @errors(unsubscribe_blp, 403)
    @transaction
    @unsubscribe_blp.response(200, UnsubscribeSchema)
    def post(self, token):
        """One-click unsubscribe (RFC 8058): turn off the preference signed into the link. No
        Bearer token: the signature is the authorisation. Any body is ignored."""
        return users.unsubscribe(token=token)
