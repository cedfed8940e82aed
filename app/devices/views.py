"""Devices and push: the phones and browsers a user is notified on."""

from __future__ import annotations

from flask.views import MethodView

from app.devices import service as devices
from app.devices.schemas import DeviceCreateSchema, DeviceSchema, VapidKeySchema
from app.platform.auth import current_user_id
from app.platform.blueprint import Blueprint
from app.platform.transactions import transaction
from app.platform.web import created, errors, protected

blp = Blueprint("devices", __name__, description="Devices and push notifications.")


@blp.route("/me/devices")
class Devices(MethodView):
    @protected(blp, 409, 422)
    @blp.arguments(DeviceCreateSchema)
    @transaction
    @blp.response(201, DeviceSchema)
    @blp.alt_response(200, schema=DeviceSchema, description="Registered already: that device.")
    def post(self, body):
        """Register this phone or browser for push (the same subscription again: 200)."""
        device, new = devices.register_device(user_id=current_user_id(), **body)
        if not new:
            return device, 200
        return created(device, "devices.DeviceItem", device_id=device.id)

    @protected(blp)
    @blp.response(200, DeviceSchema(many=True))
    def get(self):
        """The caller's devices."""
        return devices.list_devices(user_id=current_user_id())


@blp.route("/me/devices/<id:device_id>")
class DeviceItem(MethodView):
    @protected(blp, 404)
    @transaction
    @blp.response(204)
    def delete(self, device_id):
        """Stop pushing to this device."""
        devices.delete_device(user_id=current_user_id(), device_id=device_id)


@blp.route("/push/vapid-public-key")
class VapidPublicKey(MethodView):
    @errors(blp, 503)
    @blp.response(200, VapidKeySchema)
    def get(self):
        """The application server key browsers subscribe with (no sign-in needed)."""
        return devices.vapid_public_key()
