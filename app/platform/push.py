"""Sending one push message to one device: Web Push (VAPID, RFC 8292; payload encrypted with
aes128gcm, RFC 8291) through pywebpush; native FCM and APNs tokens behind the same interface,
switched on by configuration.

A push service that answers 404 or 410 has forgotten the device (the app was uninstalled, the
browser unsubscribed): :class:`DeviceGone`, and the caller removes it. Anything else that fails
is :class:`PushFailed`, worth a retry.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from flask import current_app
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush

log = logging.getLogger(__name__)

PUSH_TIMEOUT_SECONDS = 10
# How long a push service keeps a message for a phone that is off: an alert is still worth
# showing an hour later; a reminder, a day.
TTL_URGENT_SECONDS = 3600
TTL_NORMAL_SECONDS = 24 * 3600


class Device(Protocol):
    """What a sender needs of a device (``app.devices.models.Device`` has it)."""

    id: int
    kind: str
    endpoint: str | None
    p256dh: str | None
    auth: str | None
    token: str | None


class DeviceGone(Exception):
    """The push service no longer knows this device (404/410): remove it."""


class PushFailed(Exception):
    """The push service could not be reached or refused for now: retry later."""


class PushNotConfigured(Exception):
    """This kind of device has no push credentials configured here."""


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@functools.cache
def _vapid(private_key: str) -> Vapid02:
    return Vapid02.from_string(private_key=private_key)


def vapid() -> Vapid02 | None:
    """This instance's VAPID key pair, or None when Web Push is not configured."""
    key = current_app.config.get("VAPID_PRIVATE_KEY")
    return _vapid(key) if key else None


def application_server_key() -> str | None:
    """The public key browsers subscribe with (``applicationServerKey``)."""
    pair = vapid()
    if pair is None:
        return None
    point = pair.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)


def send(device: Device, message: dict[str, Any], *, urgent: bool) -> None:
    """Deliver ``message`` (title, body, kind, data) to ``device`` or raise."""
    if device.kind == "webpush":
        _web_push(device, message, urgent=urgent)
    else:
        raise PushNotConfigured(f"{device.kind} push is not configured on this server")


def _web_push(device: Device, message: dict[str, Any], *, urgent: bool) -> None:
    pair = vapid()
    if pair is None:
        raise PushNotConfigured("Web Push is not configured (VAPID_PRIVATE_KEY)")
    subscription = {
        "endpoint": device.endpoint,
        "keys": {"p256dh": device.p256dh, "auth": device.auth},
    }
    try:
        webpush(
            subscription,
            data=json.dumps(message, separators=(",", ":")),
            vapid_private_key=pair,
            vapid_claims={"sub": current_app.config["VAPID_SUBJECT"]},
            ttl=TTL_URGENT_SECONDS if urgent else TTL_NORMAL_SECONDS,
            headers={"Urgency": "high" if urgent else "normal"},
            timeout=PUSH_TIMEOUT_SECONDS,
        )
    except WebPushException as exc:
        status = getattr(exc.response, "status_code", None)
        if status in (404, 410):
            raise DeviceGone(f"push service answered {status}") from exc
        raise PushFailed(f"push service answered {status}: {exc.message}"[:255]) from exc
    except OSError as exc:  # connection refused, timeouts, TLS: requests' errors are OSErrors
        raise PushFailed(f"{type(exc).__name__}: {exc}"[:255]) from exc
