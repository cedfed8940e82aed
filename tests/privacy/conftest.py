"""A person who has used every feature of ParkMind, with photos really in storage (local files
or the moto S3 server), a caregiver, a person they care for, and someone else."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from app.platform.models import utcnow
from tests import factories
from tests.uploads import conftest as uploads
from tests.uploads.conftest import Phone, image_bytes

API = "/api/v1"
# The photo tests' storage fixtures: local files or the moto S3 server.
storage_backend = uploads.storage_backend
local_storage = uploads.local_storage


@dataclass
class Person:
    user: object
    headers: dict
    caregiver: object
    cared_for: object
    stranger: object
    photos: dict[int, bytes] = field(default_factory=dict)
    # Strings that are this person's alone: none may survive an erasure, anywhere.
    secrets: list[str] = field(default_factory=list)


@pytest.fixture
def person(db, client, auth, storage_backend) -> Person:
    user = factories.UserFactory(
        username="ada.lovelace",
        email="ada.lovelace@example.com",
        full_name="Ada Lovelace",
        phone="+44 20 7946 0001",
        vehicle_number="ADA-1815",
        preferences={"language": "en", "parking": {"level": 2}},
    )
    headers = auth(user)
    phone = Phone(client=client, backend=storage_backend, headers=headers)
    car, door = image_bytes("PNG", (5, 4)), image_bytes("JPEG", (6, 3))
    car_photo = phone.upload(car, purpose="parking_event_photo")
    door_photo = phone.upload(door, purpose="landmark_photo", content_type="image/jpeg")

    caregiver = factories.UserFactory(full_name="Carl Carer", preferences={"language": "de"})
    cared_for = factories.UserFactory(full_name="Grace Hopper")
    stranger = factories.UserFactory(full_name="Someone Else", vehicle_number="NOT-MINE")
    factories.CircleMembershipFactory(person=user, member=caregiver, role="caregiver")
    factories.CircleMembershipFactory(person=cared_for, member=user, role="caregiver")

    now = utcnow()
    lot = factories.LotFactory(spots=3)
    done = factories.BookingFactory(
        user=user, lot=lot, vehicle_number="ADA-1815", remarks="Ada's blue Fiat"
    )
    factories.BookingFactory(
        user=user,
        lot=lot,
        status="cancelled",
        vehicle_number="ADA-1815",
        remarks="Ada cancelled",
        cost_cents=None,
    )
    factories.PaymentFactory(booking=done, amount_cents=450)
    factories.ReservationFactory(user=user, vehicle_number="ADA-1815")
    factories.BookingFactory(user=stranger, lot=lot, remarks="stranger's trip")

    created = client.post(
        f"{API}/parking-events",
        json={
            "latitude": 51.5007,
            "longitude": -0.1246,
            "location_type": "indoor",
            "level": "B2",
            "spot_label": "B2-17",
            "notes": "Ada parked near the pink pillar",
            "photo_upload_id": car_photo["id"],
        },
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    event_id = created.get_json()["id"]
    landmark = client.post(
        f"{API}/parking-events/{event_id}/landmarks",
        json={"name": "Ada's green door", "photo_upload_id": door_photo["id"]},
        headers=headers,
    )
    assert landmark.status_code == 201, landmark.get_json()
    factories.ParkingEventFactory(user=stranger, notes="stranger parked by the river")
    event = db.session.get(factories.models.ParkingEvent, event_id)
    assist = factories.AssistRequestFactory(
        event=event, user_id=user.id, latitude=51.5, longitude=-0.12
    )
    factories.RetrievalScoreFactory(event=event, user_id=user.id)
    db.session.add(
        factories.models.RetrievalPosition(
            event_id=event_id, latitude=51.5011, longitude=-0.1249, recorded_at=now
        )
    )
    factories.AlertFactory(person_id=user.id, event_id=event_id, message="Ada needs help")
    factories.NotificationFactory(user=user, title="Ada, your meter", body="Ada's meter ends")
    factories.DeviceFactory(user=user, name="Ada's phone")
    factories.AccessLogEntryFactory(person=user, actor=caregiver)
    factories.IdempotencyKeyFactory(user=user, response_body='{"note": "Ada idempotent"}')
    factories.OutboundMessageFactory(recipient=user.email, subject="Hello Ada")
    # What her caregiver was told about her, and by e-mail: hers to take away too.
    factories.NotificationFactory(
        user=caregiver,
        title="Ada Lovelace asked for help",
        body="Ada Lovelace asked for help",
        dedupe_key=f"assist:{assist.id}:{caregiver.id}",
    )
    db.session.flush()
    return Person(
        user=user,
        headers=headers,
        caregiver=caregiver,
        cared_for=cared_for,
        stranger=stranger,
        photos={car_photo["id"]: car, door_photo["id"]: door},
        secrets=[
            "ada.lovelace",
            "Ada Lovelace",
            "+44 20 7946 0001",
            "ADA-1815",
            "Ada's blue Fiat",
            "Ada cancelled",
            "Ada parked near the pink pillar",
            "Ada's green door",
            "Ada needs help",
            "Ada's meter ends",
            "Ada's phone",
            "Ada idempotent",
            "Hello Ada",
        ],
    )


def later(hours: float):
    return utcnow() + timedelta(hours=hours)
