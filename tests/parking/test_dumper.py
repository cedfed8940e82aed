"""The compiled parking-event dumper gives exactly what ParkingEventSchema gives."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from app.parking.schemas import LandmarkSchema, ParkingEventSchema
from app.platform.dumper import dumper

WHEN = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
LANDMARK = {
    "id": 4,
    "event_id": 9,
    "name": "Lift",
    "description": None,
    "latitude": 48,
    "longitude": 2.5,
    "photo_upload_id": 11,
    "photo_url": "https://files.example/11?sig=x",
    "created_at": WHEN,
    "updated_at": datetime(2026, 3, 1, 9, 0),
}
SCORE = SimpleNamespace(
    event_id=9,
    score_version=1,
    total=Decimal("87.50"),
    landmark_recall=None,
    time_score=Decimal("90.00"),
    assistance_score=Decimal("80.00"),
    expected_seconds=120.0,
    actual_seconds=130,
    distance_m=None,
    pace_m_per_s=1.2,
    highest_assist_level=2,
    assist_count=1,
    found=True,
    recall=[{"landmark_id": 4, "how": "used"}],
    created_at=WHEN,
)
EVENT = {
    "id": 9,
    "user_id": 3,
    "status": "retrieving",
    "latitude": 48.8584,
    "longitude": 2,
    "accuracy_m": None,
    "address": "1 Road",
    "location_type": "indoor",
    "level": "-2",
    "spot_label": None,
    "notes": "Row C",
    "booking_id": None,
    "lot_id": 5,
    "photo_upload_id": None,
    "photo_url": None,
    "client_uuid": "5f0c9f5e-8a4b-4c7e-9a35-0d6f3a4f1b2c",
    "parked_at": WHEN,
    "retrieval_started_at": datetime(2026, 3, 1, 10, 0),
    "retrieval_paused_at": None,
    "paused_seconds": 0.0,
    "retrieval_completed_at": None,
    "expired_at": None,
    "distance_m": 80.5,
    "expected_seconds": None,
    "found": None,
    "landmarks": [LANDMARK, {**LANDMARK, "id": 5, "photo_upload_id": None, "photo_url": None}],
    "score": None,
    "created_at": WHEN,
    "updated_at": WHEN,
}


@pytest.mark.parametrize(
    "event",
    [EVENT, {**EVENT, "score": SCORE, "found": 1, "landmarks": []}],
    ids=["landmarks", "score"],
)
def test_same_output_as_marshmallow(event):
    assert dumper(ParkingEventSchema)(event) == ParkingEventSchema().dump(event)


def test_key_order_is_the_schemas():
    assert list(dumper(ParkingEventSchema)(EVENT)) == list(ParkingEventSchema().dump(EVENT))
    assert list(dumper(LandmarkSchema)(LANDMARK)) == list(LandmarkSchema().dump(LANDMARK))
