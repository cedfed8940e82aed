"""All models, imported here so that migrations and the app see the whole schema."""

from app.models.base import utcnow
from app.models.booking import Booking, IdempotencyKey, Payment
from app.models.circle import CircleAudit, CircleMembership
from app.models.export import Export
from app.models.lot import Lot, Spot
from app.models.notification import Notification, OutboundMessage
from app.models.parking import AssistRequest, Landmark, ParkingEvent, RetrievalScore
from app.models.upload import Upload
from app.models.user import AuthSession, User

__all__ = [
    "AssistRequest",
    "AuthSession",
    "Booking",
    "CircleAudit",
    "CircleMembership",
    "Export",
    "IdempotencyKey",
    "Landmark",
    "Lot",
    "Notification",
    "OutboundMessage",
    "ParkingEvent",
    "Payment",
    "RetrievalScore",
    "Spot",
    "Upload",
    "User",
    "utcnow",
]
