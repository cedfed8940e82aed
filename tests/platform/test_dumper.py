"""The compiled dumpers give exactly what the documented marshmallow schemas give."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from marshmallow import Schema, fields, post_dump

from app.admin.schemas import AdminStatsSchema
from app.bookings.schemas import BookingSchema, MyStatsSchema
from app.lots.schemas import LotSchema
from app.platform.dumper import dumper
from app.platform.schemas import UTCDateTime, page_of

PRICING = {
    "hourly_rate_cents": 250,
    "billing_increment_minutes": 60,
    "free_minutes": 15,
    "daily_max_cents": None,
    "currency": "USD",
}
LOT = {
    "id": 7,
    "name": "Central",
    "address": "1 Road",
    "pin_code": "560001",
    "latitude": 12,
    "longitude": None,
    "levels": 2,
    "free_spots": 3,
    "total_spots": True,
    "occupied_spots": 1,
    "pricing": PRICING,
    "created_at": datetime(2026, 1, 1, tzinfo=UTC),
}
BOOKING = {
    "id": 1,
    "lot": {"id": 7, "name": "Central"},
    "spot": SimpleNamespace(id=3, number=4, level=None),
    "vehicle_number": "KA01",
    "status": "active",
    "started_at": datetime(2026, 1, 1, 8, 30),
    "ended_at": None,
    "duration_minutes": None,
    "hourly_rate_cents": 250,
    "billing_increment_minutes": 60,
    "free_minutes": 0,
    "daily_max_cents": 2000,
    "cost_cents": None,
    "cost_so_far_cents": 250,
    "currency": "USD",
    "remarks": None,
}


@pytest.mark.parametrize(
    ("schema", "obj"),
    [
        (LotSchema, LOT),
        (LotSchema, {**LOT, "distance_m": 12}),
        (
            page_of(LotSchema),
            {"items": [LOT, LOT], "page": 1, "per_page": 2, "total": 5, "pages": 3},
        ),
        (BookingSchema, BOOKING),
        (
            BookingSchema,
            SimpleNamespace(**{**BOOKING, "ended_at": datetime(2026, 1, 2, tzinfo=UTC)}),
        ),
        (
            page_of(BookingSchema),
            {"items": [BOOKING], "page": 1, "per_page": 20, "total": 1, "pages": 1},
        ),
        (
            MyStatsSchema,
            {
                "bookings": 2,
                "completed_bookings": 1,
                "total_spend_cents": 500,
                "currency": "USD",
                "active_booking": None,
                "retrievals": 0,
                "latest_score": None,
            },
        ),
    ],
)
def test_same_output_as_marshmallow(schema, obj):
    assert dumper(schema)(obj) == schema().dump(obj)


def test_admin_stats_same_output():
    obj = {
        "lots": 1,
        "spots": 10,
        "occupied_spots": 3,
        "occupancy_percent": 30.0,
        "revenue_today_cents": 100,
        "revenue_month_cents": 900,
        "currency": "USD",
        "users": 4,
        "active_users": 3,
        "active_bookings": 3,
        "per_lot": [],
        "generated_at": datetime(2026, 3, 1, 12, tzinfo=UTC),
    }
    assert dumper(AdminStatsSchema)(obj) == AdminStatsSchema().dump(obj)


def test_missing_keys_are_left_out_and_other_fields_fall_back():
    class Odd(Schema):
        a = fields.Integer()
        b = fields.Method("twice")
        c = fields.Integer(dump_default=5)
        when = UTCDateTime()

        def twice(self, obj):
            return obj["a"] * 2

    assert dumper(Odd)({"a": 3.0}) == Odd().dump({"a": 3.0}) == {"a": 3, "b": 6.0, "c": 5}


def test_schema_with_hooks_uses_marshmallow():
    class Hooked(Schema):
        a = fields.Integer()

        @post_dump
        def add(self, data, **kwargs):
            return {**data, "x": 1}

    assert dumper(Hooked)({"a": 1}) == {"a": 1, "x": 1}


def test_function_fields_are_called_with_the_object(monkeypatch):
    from app.parking.schemas import LandmarkSchema, ParkingEventSchema

    class Photo(Schema):
        id = fields.Integer()
        photo_url = fields.Function(lambda obj: obj.get("photo_url"), allow_none=True)

    for obj in ({"id": 1, "photo_url": "https://x/1"}, {"id": 2}):
        assert dumper(Photo)(obj) == Photo().dump(obj)
    landmark = {
        "id": 4,
        "event_id": 9,
        "name": "Blue door",
        "description": None,
        "latitude": None,
        "longitude": None,
        "photo_upload_id": 3,
        "photo_url": "https://x/3",
        "created_at": datetime(2026, 11, 20, 8, 15, tzinfo=UTC),
        "updated_at": datetime(2026, 11, 20, 8, 15, tzinfo=UTC),
    }
    assert dumper(LandmarkSchema)(landmark) == LandmarkSchema().dump(landmark)
    event = {"id": 9, "photo_url": None, "landmarks": [landmark], "score": None}
    assert dumper(ParkingEventSchema)(event) == ParkingEventSchema().dump(event)

    # The compiled dumper calls the function itself, not marshmallow's field machinery.
    def refuse(*args, **kwargs):
        raise AssertionError("marshmallow's Function.serialize was called")

    monkeypatch.setattr(fields.Function, "serialize", refuse)
    assert dumper(Photo)({"id": 1, "photo_url": "u"}) == {"id": 1, "photo_url": "u"}
