"""All models, imported here so that migrations and the app see the whole schema."""

from app.accounts.models import AuthSession, User
from app.admin.models import AdminAudit
from app.bookings.models import Booking
from app.circle.models import Alert, CircleAudit, CircleMembership
from app.devices.models import Device
from app.exports.models import Export
from app.lots.models import Lot, Spot
from app.notifications.models import Notification
from app.parking.models import (
    AssistRequest,
    Landmark,
    ParkingEvent,
    RetrievalPosition,
    RetrievalScore,
)
from app.payments.models import Payment
from app.platform.models import IdempotencyKey, OutboundMessage, utcnow
from app.privacy.models import AccessLogEntry
from app.reservations.models import Reservation
from app.uploads.models import Upload

__all__ = [
    "AccessLogEntry",
    "AdminAudit",
    "Alert",
    "AssistRequest",
    "AuthSession",
    "Booking",
    "CircleAudit",
    "CircleMembership",
    "Device",
    "Export",
    "IdempotencyKey",
    "Landmark",
    "Lot",
    "Notification",
    "OutboundMessage",
    "ParkingEvent",
    "Payment",
    "Reservation",
    "RetrievalPosition",
    "RetrievalScore",
    "Spot",
    "Upload",
    "User",
    "utcnow",
]
