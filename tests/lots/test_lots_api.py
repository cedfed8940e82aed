"""Drivers' lot list and detail: counts, search, distance, pagination without N+1."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tests.factories import BookingFactory, LotFactory, SpotFactory


@contextmanager
def count_statements(db):
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def occupy(spot, user=None):
    """An active booking holding ``spot``."""
    spot.is_occupied = True
    kwargs = {"user": user} if user is not None else {}
    booking = BookingFactory(spot=spot, status="active", ended_at=None, cost_cents=None, **kwargs)
    booking.active_spot_id = spot.id
    booking.active_user_id = booking.user_id
    return booking


def test_list_shows_free_and_total_counts_and_pricing(client, user, auth):
    lot = LotFactory(name="Alpha", spots=4, free_minutes=15, daily_max_cents=2000)
    spots = lot_spots(lot)
    occupy(spots[0])
    spots[1].status = "out_of_service"
    spots[2].status = "removed"

    response = client.get("/api/v1/lots", headers=auth(user))

    assert response.status_code == 200
    page = response.get_json()
    assert page["total"] == 1 and page["page"] == 1 and page["pages"] == 1
    item = page["items"][0]
    assert (item["free_spots"], item["total_spots"]) == (1, 3)
    assert item["pricing"] == {
        "hourly_rate_cents": 250,
        "billing_increment_minutes": 60,
        "free_minutes": 15,
        "daily_max_cents": 2000,
        "cancellation_fee_cents": 0,
        "currency": "USD",
    }
    assert item["free_by_feature"] == {
        "accessible": 0,
        "ev_charging": 0,
        "covered": 0,
        "near_exit": 0,
    }
    assert "distance_m" not in item


def lot_spots(lot):
    from app.lots.models import Spot
    from app.platform.extensions import db

    return list(
        db.session.scalars(db.select(Spot).where(Spot.lot_id == lot.id).order_by(Spot.number))
    )


def test_search_by_name_address_pin_and_availability(client, user, auth):
    LotFactory(name="Harbour Garage", address="3 Dock St", pin_code="400001", spots=2)
    LotFactory(name="Hill Top", address="9 Harbour View", pin_code="400002", spots=1)
    full = LotFactory(name="Mall", address="1 Main St", pin_code="400003", spots=1)
    occupy(lot_spots(full)[0])
    headers = auth(user)

    def names(query):
        response = client.get(f"/api/v1/lots?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return sorted(item["name"] for item in response.get_json()["items"])

    assert names("q=harbour") == ["Harbour Garage", "Hill Top"]
    assert names("q=40000") == ["Harbour Garage", "Hill Top", "Mall"]
    assert names("pin_code=400003") == ["Mall"]
    assert names("available=true") == ["Harbour Garage", "Hill Top"]


def test_search_text_is_matched_literally_on_every_database(client, user, auth):
    LotFactory(name="100% Park_1", address="1 Back\\slash Rd", pin_code="500001", spots=1)
    LotFactory(name="1000 Park 1", address="2 Front Rd", pin_code="500002", spots=1)
    headers = auth(user)

    def names(q):
        response = client.get("/api/v1/lots", query_string={"q": q}, headers=headers)
        assert response.status_code == 200, response.get_json()
        return sorted(item["name"] for item in response.get_json()["items"])

    assert names("100%") == ["100% Park_1"]
    assert names("park_") == ["100% Park_1"]
    assert names("K\\S") == ["100% Park_1"]
    assert names("\\") == ["100% Park_1"]
    assert names("PARK") == ["100% Park_1", "1000 Park 1"]


def test_near_sorts_by_distance_within_radius(client, user, auth):
    LotFactory(name="Far", latitude=13.10, longitude=77.59, spots=1)  # ~14 km north
    LotFactory(name="Near", latitude=12.975, longitude=77.5946, spots=1)  # ~370 m
    LotFactory(name="Here", latitude=12.9716, longitude=77.5946, spots=1)
    LotFactory(name="Nowhere", latitude=None, longitude=None, spots=1)
    headers = auth(user)

    response = client.get("/api/v1/lots?near=12.9716,77.5946&radius_km=5", headers=headers)

    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [item["name"] for item in items] == ["Here", "Near"]
    assert items[0]["distance_m"] == 0
    assert 300 < items[1]["distance_m"] < 450
    wide = client.get("/api/v1/lots?near=12.9716,77.5946&radius_km=20", headers=headers)
    assert [item["name"] for item in wide.get_json()["items"]] == ["Here", "Near", "Far"]


@pytest.mark.parametrize(
    "query",
    ["near=91,0", "near=abc", "near=1,2,3", "radius_km=5", "per_page=101", "page=0"],
)
def test_bad_queries_are_422(client, user, auth, query):
    response = client.get(f"/api/v1/lots?{query}", headers=auth(user))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_error"


def test_lot_detail_and_unknown_or_deleted_lot(client, user, auth):
    from app.platform.models import utcnow

    lot = LotFactory(spots=2)
    gone = LotFactory(spots=1, deleted_at=utcnow())
    headers = auth(user)

    detail = client.get(f"/api/v1/lots/{lot.id}", headers=headers)
    assert detail.status_code == 200
    assert detail.get_json()["free_spots"] == 2
    for lot_id in (gone.id, 999999, 2**40):
        response = client.get(f"/api/v1/lots/{lot_id}", headers=headers)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "lot_not_found"


def test_deleted_lots_are_not_listed(client, user, auth):
    from app.platform.models import utcnow

    LotFactory(name="Visible", spots=1)
    LotFactory(name="Hidden", spots=1, deleted_at=utcnow())
    response = client.get("/api/v1/lots", headers=auth(user))
    assert [item["name"] for item in response.get_json()["items"]] == ["Visible"]


def test_lot_list_query_count_does_not_grow_with_page_size(client, db, user, auth):
    for _ in range(12):
        lot = LotFactory(spots=3)
        occupy(lot_spots(lot)[0])
    headers = auth(user)

    with count_statements(db) as small:
        assert client.get("/api/v1/lots?per_page=2", headers=headers).status_code == 200
    with count_statements(db) as large:
        assert client.get("/api/v1/lots?per_page=50", headers=headers).status_code == 200
    with count_statements(db) as near:
        response = client.get("/api/v1/lots?near=12.9716,77.5946&per_page=50", headers=headers)
        assert len(response.get_json()["items"]) == 12

    assert 0 < len(small) == len(large)
    assert len(near) <= len(large)


def test_free_count_drops_right_after_own_booking(client, user, auth):
    lot = LotFactory(spots=2)
    headers = auth(user)
    assert client.get("/api/v1/lots", headers=headers).get_json()["items"][0]["free_spots"] == 2
    booked = client.post(
        "/api/v1/bookings", json={"lot_id": lot.id, "vehicle_number": "KA1"}, headers=headers
    )
    assert booked.status_code == 201
    assert client.get("/api/v1/lots", headers=headers).get_json()["items"][0]["free_spots"] == 1


def test_demo_lots_are_seeded_once(app, db):
    from app.lots.management import seed_demo_lots

    first = seed_demo_lots()
    second = seed_demo_lots()
    assert len(first) == 3 and all("spots" in line for line in first)
    assert all("already exists" in line for line in second)
    from app.lots.models import Lot

    names = {lot.name for lot in db.session.scalars(db.select(Lot))}
    assert {"Central Station Garage", "Riverside Open Lot", "Market Square Parking"} <= names


def test_spot_factory_lot_counts_once(client, user, auth):
    spot = SpotFactory()
    response = client.get(f"/api/v1/lots/{spot.lot_id}", headers=auth(user))
    assert response.get_json()["total_spots"] == 1
