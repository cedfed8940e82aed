"""Spot features and levels: set by admins, counted per feature for drivers, asked for by
bookings and reservations, and honoured from the driver's preferences."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.platform.models import utcnow
from tests.factories import UserFactory

API = "/api/v1"


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def lot(client, auth, admin):
    body = {
        "name": "Featured Garage",
        "address": "1 Lift Lane",
        "pin_code": "560001",
        "hourly_rate_cents": 200,
        "total_spots": 6,
        "levels": 2,
        "cancellation_fee_cents": 300,
        "timezone": "Europe/Berlin",
        "features_by_spot": {
            "2": ["accessible", "near_exit"],
            "4": ["ev_charging"],
            "5": ["accessible", "covered"],
        },
    }
    response = client.post(f"{API}/admin/lots", json=body, headers=auth(admin))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def spots_of(client, headers, lot_id):
    page = client.get(f"{API}/admin/lots/{lot_id}/spots", headers=headers).get_json()
    return {spot["number"]: spot for spot in page["items"]}


def book(client, headers, lot_id, **extra):
    body = {"lot_id": lot_id, "vehicle_number": "KA01", **extra}
    return client.post(f"{API}/bookings", json=body, headers=headers)


def test_admin_sets_features_at_creation_and_per_spot(client, auth, admin, lot):
    headers = auth(admin)
    spots = spots_of(client, headers, lot["id"])
    assert spots[2]["features"] == ["accessible", "near_exit"]
    assert spots[1]["features"] == [] and spots[1]["level"] == 1 and spots[6]["level"] == 2
    assert lot["pricing"]["cancellation_fee_cents"] == 300 and lot["timezone"] == "Europe/Berlin"
    patched = client.patch(
        f"{API}/admin/spots/{spots[1]['id']}",
        json={"features": ["covered", "ev_charging"], "level": 3},
        headers=headers,
    )
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["features"] == ["ev_charging", "covered"]
    assert patched.get_json()["level"] == 3 and patched.get_json()["status"] == "available"


@pytest.mark.parametrize(
    "body",
    [
        {"features": ["jetpack"]},
        {"features": ["covered", "covered"]},
        {"level": 0},
        {},
        {"status": "occupied"},
    ],
)
def test_bad_spot_changes_are_422(client, auth, admin, lot, body):
    spot = spots_of(client, auth(admin), lot["id"])[1]
    response = client.patch(f"{API}/admin/spots/{spot['id']}", json=body, headers=auth(admin))
    assert response.status_code == 422


def test_lot_creation_refuses_unknown_spots_and_zones(client, auth, admin):
    body = {
        "name": "Bad",
        "address": "x",
        "pin_code": "560001",
        "hourly_rate_cents": 1,
        "total_spots": 2,
    }
    for extra, field in (
        ({"features_by_spot": {"3": ["covered"]}}, "features_by_spot"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
    ):
        response = client.post(f"{API}/admin/lots", json={**body, **extra}, headers=auth(admin))
        assert response.status_code == 422 and field in response.get_json()["error"]["fields"]


def test_drivers_see_free_counts_per_feature(client, auth, user, lot):
    headers = auth(user)
    book(client, headers, lot["id"], features=["accessible"])  # takes spot 2
    shown = client.get(f"{API}/lots/{lot['id']}", headers=headers).get_json()
    assert shown["free_by_feature"] == {
        "accessible": 1,
        "ev_charging": 1,
        "covered": 1,
        "near_exit": 0,
    }
    listed = client.get(f"{API}/lots", headers=headers).get_json()["items"]
    assert [item["free_by_feature"] for item in listed] == [shown["free_by_feature"]]


def test_bookings_get_the_lowest_spot_with_every_feature_asked_for(client, auth, lot):
    drivers = [UserFactory() for _ in range(4)]
    first = book(client, auth(drivers[0]), lot["id"], features=["accessible"])
    assert first.get_json()["spot"]["number"] == 2
    second = book(client, auth(drivers[1]), lot["id"], features=["accessible", "covered"])
    assert second.get_json()["spot"]["number"] == 5
    none_left = book(client, auth(drivers[2]), lot["id"], features=["accessible"])
    assert none_left.status_code == 409
    assert none_left.get_json()["error"]["code"] == "no_matching_spot"
    on_level = book(client, auth(drivers[3]), lot["id"], level=2)
    assert on_level.get_json()["spot"]["number"] == 4  # spots 4..6 are on level 2


def test_preferences_are_honoured_when_a_matching_spot_is_free(client, auth, lot):
    driver, other = UserFactory(), UserFactory()
    headers = auth(driver)
    saved = client.patch(
        f"{API}/me",
        json={"preferences": {"parking": {"level": 2, "features": ["ev_charging"]}}},
        headers=headers,
    )
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["preferences"]["parking"] == {"level": 2, "features": ["ev_charging"]}
    booking = book(client, headers, lot["id"]).get_json()
    assert booking["spot"]["number"] == 4
    client.post(f"{API}/bookings/{booking['id']}/release", headers=headers)
    book(client, auth(other), lot["id"], features=["ev_charging"])
    # The preferred spot is taken: any free spot rather than a refusal.
    fallback = book(client, headers, lot["id"]).get_json()
    assert fallback["spot"]["number"] == 1


def test_a_parking_event_from_a_booking_knows_level_and_spot(client, auth, user, lot):
    headers = auth(user)
    booking = book(client, headers, lot["id"], level=2).get_json()
    event = client.post(
        f"{API}/parking-events",
        json={"latitude": 12.97, "longitude": 77.59, "booking_id": booking["id"]},
        headers=headers,
    )
    assert event.status_code == 201, event.get_json()
    assert (event.get_json()["level"], event.get_json()["spot_label"]) == ("2", "4")


def test_reservations_match_features_and_move_when_a_spot_loses_them(
    client, auth, admin, lot, run_job
):
    driver = UserFactory()
    headers = auth(driver)
    start = utcnow() + timedelta(days=1)
    body = {
        "lot_id": lot["id"],
        "start_at": iso(start),
        "end_at": iso(start + timedelta(hours=2)),
        "vehicle_number": "KA01",
        "features": ["accessible"],
    }
    reserved = client.post(f"{API}/reservations", json=body, headers=headers).get_json()
    assert reserved["spot"]["number"] == 2 and reserved["features"] == ["accessible"]
    spot_2 = spots_of(client, auth(admin), lot["id"])[2]
    client.patch(f"{API}/admin/spots/{spot_2['id']}", json={"features": []}, headers=auth(admin))
    moved = client.get(f"{API}/reservations/{reserved['id']}", headers=headers).get_json()
    assert moved["spot"]["number"] == 5
    unmatched = client.post(
        f"{API}/reservations",
        json={**body, "features": ["near_exit"]},
        headers=auth(UserFactory()),
    )
    assert unmatched.status_code == 409
    assert unmatched.get_json()["error"]["code"] == "no_matching_spot"
