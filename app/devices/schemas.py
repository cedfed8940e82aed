"""Devices: what a phone or browser registers to receive push notifications."""

from __future__ import annotations

from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.devices.models import DEVICE_KINDS
from app.platform.schemas import SingleLine, StrictSchema, UTCDateTime


class SubscriptionKeysSchema(StrictSchema):
    # URL-safe base64 of 65 and 16 bytes, padded or not.
    p256dh = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{87}=?$", error="p256dh must be 65 bytes."),
    )
    auth = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{22}(==)?$", error="auth must be 16 bytes."),
    )


class SubscriptionSchema(StrictSchema):
    """A browser's ``PushSubscription.toJSON()``."""

    endpoint = fields.String(
        required=True,
        validate=[
            validate.Length(min=10, max=1024),
            validate.Regexp(
                r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$",
                error="Must be the push service's URL.",
            ),
        ],
    )
    keys = fields.Nested(SubscriptionKeysSchema, required=True)
    expirationTime = fields.Raw(  # noqa: N815 - the browser's name
        allow_none=True, load_default=None, metadata={"type": "number"}
    )


class DeviceCreateSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(DEVICE_KINDS))
    subscription = fields.Nested(SubscriptionSchema)
    token = fields.String(validate=[validate.Length(min=8, max=512), SingleLine(visible=True)])
    name = fields.String(validate=[validate.Length(max=120), SingleLine()], allow_none=True)

    @validates_schema
    def _kind_matches(self, data, **kwargs):
        if data["kind"] == "webpush":
            if "subscription" not in data:
                raise ValidationError("A Web Push device needs its subscription.", "subscription")
            if "token" in data:
                raise ValidationError("A Web Push device has no token.", "token")
            endpoint = urlsplit(data["subscription"]["endpoint"])
            if endpoint.scheme not in ("https", "http") or not endpoint.hostname:
                raise ValidationError("Must be the push service's https URL.", "subscription")
        else:
            if "token" not in data:
                raise ValidationError("An FCM or APNs device needs its token.", "token")
            if "subscription" in data:
                raise ValidationError("Only a Web Push device has a subscription.", "subscription")


class DeviceSchema(Schema):
    """A registered device (its keys are never shown again)."""

    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": list(DEVICE_KINDS)})
    name = fields.String(allow_none=True)
    endpoint = fields.String(allow_none=True)
    created_at = UTCDateTime(required=True)
    last_used_at = UTCDateTime(allow_none=True)


class VapidKeySchema(Schema):
    key = fields.String(
        required=True,
        metadata={
            "description": "The application server key (URL-safe base64, uncompressed P-256)."
        },
    )
