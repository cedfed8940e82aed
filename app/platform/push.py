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
import time
from typing import Any, Protocol

import httpx
import jwt
import requests
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
    elif device.kind == "fcm":
        _fcm(device, message, urgent=urgent)
    elif device.kind == "apns":
        _apns(device, message, urgent=urgent)
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


# --- Firebase Cloud Messaging, HTTP v1 ---------------------------------------------------------

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# FCM's answers for a token that will never work again.
FCM_GONE_CODES = {"UNREGISTERED", "INVALID_ARGUMENT"}


@functools.cache
def _service_account(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        account = json.load(handle)
    missing = {"project_id", "client_email", "private_key", "token_uri"} - set(account)
    if missing:
        raise PushNotConfigured(f"FCM credentials lack {sorted(missing)}")
    return account


# Access tokens by service account e-mail: (token, unix time it expires).
_FCM_TOKENS: dict[str, tuple[str, float]] = {}


def _fcm_access_token(account: dict[str, Any]) -> str:
    """An OAuth 2 access token for the service account (JWT bearer grant), cached until a minute
    before it expires."""
    cached = _FCM_TOKENS.get(account["client_email"])
    now = time.time()
    if cached is not None and cached[1] - 60 > now:
        return cached[0]
    assertion = jwt.encode(
        {
            "iss": account["client_email"],
            "scope": FCM_SCOPE,
            "aud": account["token_uri"],
            "iat": int(now),
            "exp": int(now) + 3600,
        },
        account["private_key"],
        algorithm="RS256",
    )
    try:
        response = requests.post(
            account["token_uri"],
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": assertion,
            },
            timeout=PUSH_TIMEOUT_SECONDS,
        )
    except OSError as exc:
        raise PushFailed(f"FCM token: {type(exc).__name__}: {exc}"[:255]) from exc
    if response.status_code != 200:
        raise PushFailed(f"FCM token: {response.status_code} {response.text[:120]}")
    body = response.json()
    _FCM_TOKENS[account["client_email"]] = (
        body["access_token"],
        now + float(body.get("expires_in", 3600)),
    )
    return body["access_token"]


def _fcm(device: Device, message: dict[str, Any], *, urgent: bool) -> None:
    path = current_app.config.get("FCM_CREDENTIALS_FILE")
    if not path:
        raise PushNotConfigured("FCM push is not configured (FCM_CREDENTIALS_FILE)")
    account = _service_account(path)
    url = (
        f"{current_app.config['FCM_ENDPOINT'].rstrip('/')}/v1/projects/"
        f"{account['project_id']}/messages:send"
    )
    payload = {
        "message": {
            "token": device.token,
            "notification": {"title": message["title"], "body": message["body"]},
            # FCM data values are strings: the whole message travels as one JSON string.
            "data": {"parkmind": json.dumps(message, separators=(",", ":"))},
            "android": {
                "priority": "HIGH" if urgent else "NORMAL",
                "ttl": f"{TTL_URGENT_SECONDS if urgent else TTL_NORMAL_SECONDS}s",
            },
            "apns": {"headers": {"apns-priority": "10" if urgent else "5"}},
        }
    }
    headers = {"Authorization": f"Bearer {_fcm_access_token(account)}"}
    try:
        response = requests.post(url, json=payload, headers=headers, timeout=PUSH_TIMEOUT_SECONDS)
    except OSError as exc:
        raise PushFailed(f"FCM: {type(exc).__name__}: {exc}"[:255]) from exc
    if response.status_code == 200:
        return
    if response.status_code == 401:
        _FCM_TOKENS.pop(account["client_email"], None)  # fetch a new token next time
    code = _fcm_error_code(response)
    if response.status_code == 404 or (response.status_code == 400 and code in FCM_GONE_CODES):
        raise DeviceGone(f"FCM answered {response.status_code} {code}")
    raise PushFailed(f"FCM answered {response.status_code} {code}"[:255])


def _fcm_error_code(response: requests.Response) -> str:
    try:
        error = response.json().get("error", {})
    except ValueError:
        return ""
    for detail in error.get("details", []):
        if detail.get("errorCode"):
            return str(detail["errorCode"])
    return str(error.get("status", ""))


# --- Apple Push Notification service (token-based, HTTP/2) ----------------------------------------

# Apple refuses a provider token older than an hour and one renewed more often than every 20 min.
APNS_TOKEN_SECONDS = 45 * 60
APNS_GONE_REASONS = {"BadDeviceToken", "DeviceTokenNotForTopic", "Unregistered"}
_APNS_TOKENS: dict[str, tuple[str, float]] = {}


@functools.cache
def _apns_key(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


@functools.cache
def _apns_client(endpoint: str) -> httpx.Client:
    # One HTTP/2 connection per process, reused for every push (as Apple asks).
    return httpx.Client(http1=False, http2=True, timeout=PUSH_TIMEOUT_SECONDS)


def _apns_provider_token(config: Any) -> str:
    key_id, team_id = config["APNS_KEY_ID"], config["APNS_TEAM_ID"]
    cached = _APNS_TOKENS.get(key_id)
    now = time.time()
    if cached is not None and cached[1] > now:
        return cached[0]
    token = jwt.encode(
        {"iss": team_id, "iat": int(now)},
        _apns_key(config["APNS_KEY_FILE"]),
        algorithm="ES256",
        headers={"kid": key_id},
    )
    _APNS_TOKENS[key_id] = (token, now + APNS_TOKEN_SECONDS)
    return token


def _apns(device: Device, message: dict[str, Any], *, urgent: bool) -> None:
    config = current_app.config
    needed = ("APNS_KEY_FILE", "APNS_KEY_ID", "APNS_TEAM_ID", "APNS_TOPIC")
    if not all(config.get(name) for name in needed):
        raise PushNotConfigured("APNs push is not configured (" + ", ".join(needed) + ")")
    ttl = TTL_URGENT_SECONDS if urgent else TTL_NORMAL_SECONDS
    headers = {
        "authorization": f"bearer {_apns_provider_token(config)}",
        "apns-topic": config["APNS_TOPIC"],
        "apns-push-type": "alert",
        "apns-priority": "10" if urgent else "5",
        "apns-expiration": str(int(time.time()) + ttl),
    }
    body = {
        "aps": {
            "alert": {"title": message["title"], "body": message["body"]},
            "sound": "default",
            "interruption-level": "time-sensitive" if urgent else "active",
        },
        "parkmind": message,
    }
    endpoint = config["APNS_ENDPOINT"].rstrip("/")
    try:
        response = _apns_client(endpoint).post(
            f"{endpoint}/3/device/{device.token}", json=body, headers=headers
        )
    except httpx.HTTPError as exc:
        raise PushFailed(f"APNs: {type(exc).__name__}: {exc}"[:255]) from exc
    if response.status_code == 200:
        return
    try:
        reason = str(response.json().get("reason", ""))
    except ValueError:
        reason = ""
    if response.status_code == 410 or reason in APNS_GONE_REASONS:
        raise DeviceGone(f"APNs answered {response.status_code} {reason}")
    if response.status_code == 403:
        _APNS_TOKENS.pop(config["APNS_KEY_ID"], None)  # a fresh provider token next time
    raise PushFailed(f"APNs answered {response.status_code} {reason}"[:255])
