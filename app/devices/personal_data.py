"""What the devices domain holds about a person: their phones (see app.platform.personal_data)."""

from __future__ import annotations

from sqlalchemy import delete, select

from app.devices.models import Device
from app.platform.extensions import db
from app.platform.personal_data import Erased, eraser, part, record

# The push subscription's keys and tokens are credentials for reaching the phone, not facts
# about the person: the export names the device, never its secrets.
SECRETS = ("p256dh", "auth", "token", "endpoint", "address_hash")


@part("devices", about="The phones registered for push notifications.", models=[Device])
def export_devices(user_id: int) -> list[dict]:
    """The person's devices (without their push credentials)."""
    rows = db.session.scalars(select(Device).where(Device.user_id == user_id).order_by(Device.id))
    return [record(device, exclude=SECRETS) for device in rows]


@eraser("devices", order=50)
def erase_devices(user_id: int) -> Erased:
    """Every device goes: nothing is pushed to the person again."""
    removed = db.session.execute(
        delete(Device).where(Device.user_id == user_id).execution_options(synchronize_session=False)
    ).rowcount
    return Erased({"devices": removed or 0})
