"""Devices a user receives pushes on, and pushing one notification to all of them, once each."""

from __future__ import annotations

import hashlib
import logging
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import delete, func, select

from app.accounts.models import User
from app.devices.models import Device
from app.notifications.models import Notification
from app.platform import push
from app.platform.errors import AppError, Conflict, NotFound, ValidationFailed
from app.platform.extensions import db
from app.platform.mail import MessageInFlight, deliver_once
from app.platform.models import get_owned_or_404, utcnow

log = logging.getLogger(__name__)

MAX_DEVICES = 20


class TooManyDevices(Conflict):
    code = "too_many_devices"
    message = f"At most {MAX_DEVICES} devices per account; remove one you no longer use."


class PushUnavailable(AppError):
    status, code, message = 503, "push_unavailable", "Web Push is not configured on this server."


def device_not_found() -> NotFound:
    return NotFound("No such device.", code="device_not_found")


def _address(kind: str, subscription: dict | None, token: str | None) -> str:
    return f"{kind}:{subscription['endpoint'] if subscription else token}"


def register_device(
    *,
    user_id: int,
    kind: str,
    subscription: dict[str, Any] | None = None,
    token: str | None = None,
    name: str | None = None,
) -> tuple[Device, bool]:
    """Register (or find again) a device; returns it and whether it is new. A browser or app
    install registered by someone else before is moved to this user: it is theirs now."""
    if subscription is not None:
        scheme = urlsplit(subscription["endpoint"]).scheme
        if scheme != "https" and not current_app.config["WEBPUSH_ALLOW_HTTP"]:
            raise ValidationFailed(
                fields={"subscription.endpoint": ["Must be the push service's https URL."]}
            )
    # This user's row lock serialises their registrations (the device cap below is current).
    db.session.execute(select(User.id).where(User.id == user_id).with_for_update()).first()
    digest = hashlib.sha256(_address(kind, subscription, token).encode()).hexdigest()
    device = db.session.scalar(
        select(Device).where(Device.address_hash == digest).with_for_update()
    )
    if device is not None and device.user_id == user_id:
        if name is not None:
            device.name = name
        return device, False
    count = db.session.scalar(select(func.count(Device.id)).where(Device.user_id == user_id))
    if count >= MAX_DEVICES:
        raise TooManyDevices()
    if device is None:
        device = Device(address_hash=digest, kind=kind)
        db.session.add(device)
    device.user_id = user_id
    device.name = name
    device.created_at = utcnow()
    if subscription is not None:
        device.endpoint = subscription["endpoint"]
        device.p256dh = subscription["keys"]["p256dh"]
        device.auth = subscription["keys"]["auth"]
    else:
        device.token = token
    db.session.flush()
    return device, True


def list_devices(*, user_id: int) -> list[Device]:
    return list(
        db.session.scalars(
            select(Device).where(Device.user_id == user_id).order_by(Device.id)
        ).all()
    )


def delete_device(*, user_id: int, device_id: int) -> None:
    device = get_owned_or_404(Device, device_id, owner_id=user_id, error=device_not_found())
    db.session.delete(device)
    db.session.flush()


def vapid_public_key() -> dict[str, str]:
    key = push.application_server_key()
    if key is None:
        raise PushUnavailable()
    return {"key": key}


# --- sending -------------------------------------------------------------------------------------


def push_notification(notification_id: int, *, urgent: bool = False) -> int:
    """Push one inbox entry to every device of its user, at most once per device (a rerun sends
    only what is missing). A device its push service has forgotten is removed. Raises
    :class:`push.PushFailed` when a device should be tried again later. Returns pushes sent."""
    notification = db.session.get(Notification, notification_id)
    if notification is None:
        return 0
    message = {
        "notification_id": notification.id,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "data": notification.data or {},
    }
    sent, retry = 0, []
    for device in list_devices(user_id=notification.user_id):
        try:
            if deliver_once(
                dedupe_key=f"push:{notification.id}:{device.id}",
                channel="push",
                recipient=f"device:{device.id}",
                subject=notification.title,
                send=lambda device=device: push.send(device, message, urgent=urgent),
            ):
                sent += 1
                device.last_used_at = utcnow()
        except push.DeviceGone:
            log.info("device %s of user %s is gone; removed", device.id, device.user_id)
            db.session.execute(delete(Device).where(Device.id == device.id))
        except push.PushNotConfigured as exc:
            log.warning("device %s not pushed: %s", device.id, exc)
        except (push.PushFailed, MessageInFlight) as exc:
            retry.append(f"device {device.id}: {exc}")
    db.session.flush()
    if retry:
        raise push.PushFailed("; ".join(retry)[:500])
    return sent
