"""factory_boy factories for every model, writing through the test's session."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from functools import lru_cache

import factory
from factory.alchemy import SQLAlchemyModelFactory

from app import models
from app.platform.extensions import db
from app.platform.models import utcnow

PASSWORD = "correct-horse-battery"


@lru_cache(maxsize=1)
def _password_hash() -> str:
    # Hashed once with the testing cost parameters; every factory user shares it.
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        # Commit (a savepoint release inside the test's outer transaction): requests made by the
        # test client share the test's app context and session, and an error response rolls the
        # session back, which must not take the test's fixtures with it.
        sqlalchemy_session_persistence = "commit"

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        # Models keep plain foreign keys where no relationship is needed: turn ``user=<User>``
        # into ``user_id=<id>`` for those.
        model = cls._meta.model
        for name in list(kwargs):
            value = kwargs[name]
            if isinstance(value, db.Model) and not hasattr(model, name):
                kwargs.pop(name)
                kwargs.setdefault(f"{name}_id", value.id)
        return kwargs


class UserFactory(BaseFactory):
    class Meta:
        model = models.User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password_hash = factory.LazyFunction(_password_hash)
    full_name = factory.Faker("name")
    role = "user"
    is_active = True
    preferences = factory.LazyFunction(dict)


class AuthSessionFactory(BaseFactory):
    class Meta:
        model = models.AuthSession

    id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    user = factory.SubFactory(UserFactory)
    user_id = factory.SelfAttribute("user.id")
    refresh_jti = factory.LazyFunction(lambda: str(uuid.uuid4()))
    expires_at = factory.LazyFunction(lambda: utcnow() + timedelta(days=30))


class LotFactory(BaseFactory):
    class Meta:
        model = models.Lot

    name = factory.Sequence(lambda n: f"Lot {n}")
    address = factory.Faker("street_address")
    pin_code = factory.Sequence(lambda n: f"{560000 + n}")
    latitude = 12.9716
    longitude = 77.5946
    levels = 1
    hourly_rate_cents = 250
    billing_increment_minutes = 60
    free_minutes = 0
    daily_max_cents = None

    @factory.post_generation
    def spots(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy passes the object
        """``LotFactory(spots=5)`` also creates spots 1..5."""
        count = extracted if isinstance(extracted, int) else 0
        for number in range(1, count + 1):
            db.session.add(
                models.Spot(
                    lot_id=obj.id, number=number, level=1, status="available", is_occupied=False
                )
            )
        if count:
            db.session.flush()


class SpotFactory(BaseFactory):
    class Meta:
        model = models.Spot

    lot = factory.SubFactory(LotFactory)
    number = factory.Sequence(lambda n: n + 1)
    level = 1
    status = "available"
    is_occupied = False


class BookingFactory(BaseFactory):
    """A completed booking by default (history); pass status="active" for a live one."""

    class Meta:
        model = models.Booking

    user = factory.SubFactory(UserFactory)
    spot = factory.SubFactory(SpotFactory)
    # Through the id: after a commit the spot is expired and its relationship cannot lazy-load.
    lot = factory.LazyAttribute(lambda o: db.session.get(models.Lot, o.spot.lot_id))
    vehicle_number = "KA01AB1234"
    status = "completed"
    started_at = factory.LazyFunction(lambda: utcnow() - timedelta(hours=3))
    ended_at = factory.LazyFunction(lambda: utcnow() - timedelta(hours=1))
    duration_minutes = 120
    hourly_rate_cents = 250
    billing_increment_minutes = 60
    free_minutes = 0
    daily_max_cents = None
    cost_cents = 500
    currency = "USD"


class PaymentFactory(BaseFactory):
    class Meta:
        model = models.Payment

    booking = factory.SubFactory(BookingFactory)
    user_id = factory.SelfAttribute("booking.user_id")
    lot_id = factory.SelfAttribute("booking.lot_id")
    amount_cents = factory.SelfAttribute("booking.cost_cents")
    currency = "USD"
    status = "pending"


class ReservationFactory(BaseFactory):
    """A confirmed reservation tomorrow, 10:00 to 12:00 from now's clock, on ``spot``."""

    class Meta:
        model = models.Reservation

    user = factory.SubFactory(UserFactory)
    spot = factory.SubFactory(SpotFactory)
    lot_id = factory.SelfAttribute("spot.lot_id")
    vehicle_number = "KA01AB1234"
    status = "confirmed"
    start_at = factory.LazyFunction(lambda: utcnow().replace(microsecond=0) + timedelta(days=1))
    end_at = factory.LazyAttribute(lambda o: o.start_at + timedelta(hours=2))
    feature_mask = 0
    hourly_rate_cents = 250
    billing_increment_minutes = 60
    free_minutes = 0
    daily_max_cents = None
    amount_cents = 500
    cancellation_fee_cents = 0
    currency = "USD"


class UploadFactory(BaseFactory):
    class Meta:
        model = models.Upload

    user = factory.SubFactory(UserFactory)
    purpose = "parking_event_photo"
    content_type = "image/jpeg"
    size_bytes = 1024
    storage_key = factory.LazyAttribute(
        lambda o: f"users/{o.user.id}/{o.purpose}/{uuid.uuid4().hex}.jpg"
    )
    status = "ready"
    expires_at = factory.LazyFunction(lambda: utcnow() + timedelta(minutes=10))


class ParkingEventFactory(BaseFactory):
    class Meta:
        model = models.ParkingEvent

    user = factory.SubFactory(UserFactory)
    latitude = 48.8584
    longitude = 2.2945
    accuracy_m = 8.0
    location_type = "outdoor"
    level = None
    spot_label = None
    notes = "Near the big oak tree"
    status = "active"
    parked_at = factory.LazyFunction(lambda: utcnow() - timedelta(hours=1))


class LandmarkFactory(BaseFactory):
    class Meta:
        model = models.Landmark

    event = factory.SubFactory(ParkingEventFactory)
    name = factory.Sequence(lambda n: f"Landmark {n}")
    description = "A blue door"
    latitude = 48.8586
    longitude = 2.2950


class AssistRequestFactory(BaseFactory):
    class Meta:
        model = models.AssistRequest

    event = factory.SubFactory(ParkingEventFactory)
    user_id = factory.SelfAttribute("event.user_id")
    level = 1


class RetrievalScoreFactory(BaseFactory):
    class Meta:
        model = models.RetrievalScore

    event = factory.SubFactory(ParkingEventFactory, status="retrieved")
    user_id = factory.SelfAttribute("event.user_id")
    score_version = 1
    landmark_recall = None
    time_score = 100
    assistance_score = 100
    total = 100
    expected_seconds = 120.0
    actual_seconds = 120.0
    distance_m = 120.0
    pace_m_per_s = 1.0
    highest_assist_level = 0
    assist_count = 0
    found = True
    recall = factory.LazyFunction(list)


class ExportFactory(BaseFactory):
    class Meta:
        model = models.Export

    user = factory.SubFactory(UserFactory)
    kind = "bookings"
    status = "pending"
    email = False


class DeviceFactory(BaseFactory):
    """A native (FCM) device; Web Push devices are registered through the API in tests."""

    class Meta:
        model = models.Device

    user = factory.SubFactory(UserFactory)
    kind = "fcm"
    token = factory.Sequence(lambda n: f"fcm-token-{n:08d}")
    address_hash = factory.LazyAttribute(
        lambda device: hashlib.sha256(f"fcm:{device.token}".encode()).hexdigest()
    )


class AlertFactory(BaseFactory):
    class Meta:
        model = models.Alert

    person_id = factory.LazyFunction(lambda: UserFactory().id)
    kind = "sos"
    state = "open"


class CircleMembershipFactory(BaseFactory):
    """An accepted caregiver membership by default."""

    class Meta:
        model = models.CircleMembership

    person = factory.SubFactory(UserFactory)
    member = factory.SubFactory(UserFactory)
    role = "caregiver"
    status = "accepted"
    open_key = factory.LazyAttribute(lambda o: f"{o.person.id}:{o.member.id}")
    expires_at = factory.LazyFunction(lambda: utcnow() + timedelta(days=7))
    responded_at = factory.LazyFunction(utcnow)


class CircleAuditFactory(BaseFactory):
    class Meta:
        model = models.CircleAudit

    person = factory.SubFactory(UserFactory)
    person_id = factory.SelfAttribute("person.id")
    actor_id = factory.SelfAttribute("person.id")
    member_id = factory.LazyAttribute(lambda o: UserFactory().id)
    action = "invited"


class NotificationFactory(BaseFactory):
    class Meta:
        model = models.Notification

    user = factory.SubFactory(UserFactory)
    user_id = factory.SelfAttribute("user.id")
    kind = "info"
    title = "Hello"
    body = "A message"
    data = factory.LazyFunction(dict)


class OutboundMessageFactory(BaseFactory):
    class Meta:
        model = models.OutboundMessage

    dedupe_key = factory.Sequence(lambda n: f"test:{n}")
    channel = "email"
    recipient = "someone@example.com"
    subject = "Subject"
    status = "pending"


class IdempotencyKeyFactory(BaseFactory):
    class Meta:
        model = models.IdempotencyKey

    user = factory.SubFactory(UserFactory)
    endpoint = "bookings.create"
    key = factory.LazyFunction(lambda: uuid.uuid4().hex)
    request_hash = "0" * 64
    response_status = 201
    response_body = "{}"


class AccessLogEntryFactory(BaseFactory):
    """A caregiver's read of a person's latest parking event."""

    class Meta:
        model = models.AccessLogEntry
        exclude = ("person", "actor")

    person = factory.SubFactory(UserFactory)
    person_id = factory.SelfAttribute("person.id")
    actor = factory.SubFactory(UserFactory)
    actor_id = factory.SelfAttribute("actor.id")
    actor_role = "caregiver"
    resource = "latest_parking_event"
