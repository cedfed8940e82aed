"""Schemas for accounts, tokens and profiles."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.accounts.models import ROLES
from app.lots.schemas import FEATURE_LIST
from app.platform.i18n import SUPPORTED_LANGUAGES
from app.platform.schemas import SingleLine, StrictBoolean, StrictSchema, UTCDateTime

USERNAME = validate.Regexp(
    r"^[A-Za-z0-9_.-]{3,64}$", error="3 to 64 letters, digits, '.', '_' or '-'."
)
PHONE = validate.Regexp(r"^\+?[0-9 ()-]{5,32}$", error="Not a valid phone number.")
PASSWORD = validate.Length(min=8, max=256)


class NotifyPreferencesSchema(StrictSchema):
    """Channels a user takes notices on besides the in-app inbox (an SOS ignores them)."""

    push = StrictBoolean()
    email = StrictBoolean()


class ParkingPreferencesSchema(StrictSchema):
    """Where the driver likes to park: allocation honours it when a matching spot is free."""

    level = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=50))
    features = FEATURE_LIST


class PreferencesSchema(StrictSchema):
    notify = fields.Nested(NotifyPreferencesSchema)
    parking = fields.Nested(ParkingPreferencesSchema)
    language = fields.String(
        validate=validate.OneOf(
            SUPPORTED_LANGUAGES,
            error="Must be one of the supported languages: " + ", ".join(SUPPORTED_LANGUAGES) + ".",
        )
    )
    text_size = fields.String(validate=validate.OneOf(["small", "normal", "large", "x-large"]))
    high_contrast = StrictBoolean()
    email_reminders = StrictBoolean()
    monthly_report = StrictBoolean()
    email_receipts = StrictBoolean()


class RegisterSchema(StrictSchema):
    username = fields.String(required=True, validate=USERNAME)
    email = fields.Email(required=True, validate=validate.Length(max=255))
    password = fields.String(required=True, load_only=True, validate=PASSWORD)
    full_name = fields.String(validate=[validate.Length(max=120), SingleLine()], allow_none=True)
    phone = fields.String(validate=PHONE, allow_none=True)


class LoginSchema(StrictSchema):
    login = fields.String(required=True, validate=validate.Length(min=1, max=255))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))


class LogoutSchema(StrictSchema):
    refresh_token = fields.String(validate=validate.Length(max=4096))


class UserSchema(Schema):
    """A user as the user (and admins) see it; never the password hash."""

    id = fields.Integer(required=True)
    username = fields.String(required=True)
    email = fields.String(required=True)
    full_name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    vehicle_number = fields.String(allow_none=True)
    role = fields.String(required=True, metadata={"enum": list(ROLES)})
    is_active = fields.Boolean(required=True)
    preferences = fields.Nested(PreferencesSchema, attribute="settings", required=True)
    avatar_upload_id = fields.Integer(allow_none=True)
    avatar_url = fields.String(
        allow_none=True, metadata={"description": "Signed, short-lived.", "format": "uri"}
    )
    created_at = UTCDateTime(required=True)
    last_login_at = UTCDateTime(allow_none=True)


class TokenSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_in = fields.Integer(required=True)
    user = fields.Nested(UserSchema, required=True)


class ProfileUpdateSchema(StrictSchema):
    """What a user may change about themselves: never role, is_active or id."""

    full_name = fields.String(validate=[validate.Length(max=120), SingleLine()], allow_none=True)
    phone = fields.String(validate=PHONE, allow_none=True)
    email = fields.Email(validate=validate.Length(max=255))
    vehicle_number = fields.String(
        validate=[validate.Length(min=1, max=32), SingleLine()], allow_none=True
    )
    preferences = fields.Nested(PreferencesSchema)
    avatar_upload_id = fields.Integer(
        allow_none=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1)
    )


class PasswordChangeSchema(StrictSchema):
    current_password = fields.String(required=True, load_only=True, validate=PASSWORD)
    new_password = fields.String(required=True, load_only=True, validate=PASSWORD)


class UnsubscribeSchema(Schema):
    """What an e-mail's unsubscribe link turns off, and whether it is still on."""

    preference = fields.String(
        required=True,
        validate=validate.OneOf(("email_reminders", "monthly_report", "notify.email")),
    )
    subscribed = fields.Boolean(required=True)
