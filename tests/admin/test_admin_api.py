"""Admin: lots and spots, users, bookings, stats, activity; and the access matrix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from app.accounts.models import AuthSession
from app.lots.models import Lot, Spot
from tests.factories import BookingFactory, LotFactory, PaymentFactory, UserFactory

LOT = {"name": "Dock", "address": "1 Dock Rd", "pin_code": "400001", "hourly_rate_cents": 300}


def spot_rows(db, lot_id):
    return list(
        db.session.scalars(db.select(Spot).where(Spot.lot_id == lot_id).order_by(Spot.number))
    )


def create(client, headers, **extra):
    response = client.post("/api/v1/admin/lots", json={**LOT, **extra}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response


def test_create_lot_with_spots_and_levels(client, db, admin, auth):
    response = create(client, auth(admin), total_spots=6, levels=2, latitude=1.5, longitude=2.5)
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/admin/lots/{body['id']}")
    assert body["total_spots"] == body["free_spots"] == 6
    assert body["pricing"]["billing_increment_minutes"] == 60
    assert (body["latitude"], body["longitude"]) == (1.5, 2.5)
    spots = spot_rows(db, body["id"])
    assert [spot.number for spot in spots] == [1, 2, 3, 4, 5, 6]
    assert [spot.level for spot in spots] == [1, 1, 1, 2, 2, 2]


@pytest.mark.parametrize(
    "extra",
    [
        {"total_spots": 0},
        {"total_spots": 3, "hourly_rate_cents": -1},
        {"total_spots": 3, "billing_increment_minutes": 0},
        {"total_spots": 3, "latitude": 1.0},
        {"total_spots": 3, "is_deleted": True},
    ],
)
def test_create_lot_validation(client, admin, auth, extra):
    response = client.post("/api/v1/admin/lots", json={**LOT, **extra}, headers=auth(admin))
    assert response.status_code == 422


def test_shrink_removes_free_highest_spots_and_grow_reuses_them(client, db, admin, auth):
    headers = auth(admin)
    lot_id = create(client, headers, total_spots=5).get_json()["id"]
    spots = spot_rows(db, lot_id)
    lot = db.session.get(Lot, lot_id)
    BookingFactory(spot=spots[1], lot=lot, status="active", ended_at=None, cost_cents=None)
    spots[1].is_occupied = True
    db.session.commit()  # committed setup, as a real booking would be

    shrunk = client.patch(f"/api/v1/admin/lots/{lot_id}", json={"total_spots": 2}, headers=headers)
    assert shrunk.status_code == 200 and shrunk.get_json()["total_spots"] == 2
    assert [s.status for s in spot_rows(db, lot_id)] == ["available"] * 2 + ["removed"] * 3

    refused = client.patch(f"/api/v1/admin/lots/{lot_id}", json={"total_spots": 1}, headers=headers)
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "lot_in_use")

    grown = client.patch(f"/api/v1/admin/lots/{lot_id}", json={"total_spots": 7}, headers=headers)
    assert grown.get_json()["total_spots"] == 7
    spots = spot_rows(db, lot_id)
    assert [s.number for s in spots] == [1, 2, 3, 4, 5, 6, 7]
    assert all(s.status == "available" for s in spots)


def test_update_fields_and_delete_rules(client, db, admin, user, auth):
    headers = auth(admin)
    lot_id = create(client, headers, total_spots=2).get_json()["id"]
    patched = client.patch(
        f"/api/v1/admin/lots/{lot_id}",
        json={"name": "Dock East", "free_minutes": 10, "daily_max_cents": None},
        headers=headers,
    )
    assert patched.get_json()["name"] == "Dock East"
    assert patched.get_json()["pricing"]["free_minutes"] == 10

    driver = auth(user)
    booking = client.post(
        "/api/v1/bookings", json={"lot_id": lot_id, "vehicle_number": "X1"}, headers=driver
    ).get_json()
    busy = client.delete(f"/api/v1/admin/lots/{lot_id}", headers=headers)
    assert (busy.status_code, busy.get_json()["error"]["code"]) == (409, "lot_in_use")

    client.post(f"/api/v1/bookings/{booking['id']}/release", headers=driver)
    assert client.delete(f"/api/v1/admin/lots/{lot_id}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/admin/lots/{lot_id}", headers=headers).status_code == 404
    assert client.delete(f"/api/v1/admin/lots/{lot_id}", headers=headers).status_code == 404
    # History stays: the driver's past booking still shows its lot, spot and price.
    past = client.get(f"/api/v1/bookings/{booking['id']}", headers=driver).get_json()
    assert past["lot"]["name"] == "Dock East" and past["spot"]["number"] == 1
    assert past["hourly_rate_cents"] == 300


def test_spots_listing_and_out_of_service(client, db, admin, user, auth):
    headers = auth(admin)
    lot_id = create(client, headers, total_spots=3).get_json()["id"]
    booking = client.post(
        "/api/v1/bookings", json={"lot_id": lot_id, "vehicle_number": "V1"}, headers=auth(user)
    ).get_json()
    spot2 = spot_rows(db, lot_id)[1]

    off = client.patch(
        f"/api/v1/admin/spots/{spot2.id}", json={"status": "out_of_service"}, headers=headers
    )
    listing = client.get(f"/api/v1/admin/lots/{lot_id}/spots", headers=headers).get_json()

    assert off.status_code == 200 and off.get_json()["status"] == "out_of_service"
    assert [item["status"] for item in listing["items"]] == [
        "occupied",
        "out_of_service",
        "available",
    ]
    current = listing["items"][0]["current_booking"]
    assert current["id"] == booking["id"] and current["username"] == user.username
    lot = client.get(f"/api/v1/lots/{lot_id}", headers=headers).get_json()
    assert lot["free_spots"] == 1
    bad = client.patch(
        f"/api/v1/admin/spots/{spot2.id}", json={"status": "removed"}, headers=headers
    )
    assert bad.status_code == 422
    missing = client.patch(
        f"/api/v1/admin/spots/{2**40}", json={"status": "available"}, headers=headers
    )
    assert missing.status_code == 404


def test_users_search_detail_deactivate_and_role(client, db, admin, auth):
    headers = auth(admin)
    target = UserFactory(username="zelda", full_name="Zelda Fitz")
    BookingFactory(user=target)
    target_headers = auth(target)

    found = client.get("/api/v1/admin/users?q=zeld", headers=headers).get_json()
    assert [item["username"] for item in found["items"]] == ["zelda"]
    assert found["items"][0]["booking_count"] == 1
    assert "password_hash" not in found["items"][0]

    off = client.patch(
        f"/api/v1/admin/users/{target.id}", json={"is_active": False}, headers=headers
    )
    assert off.status_code == 200 and off.get_json()["is_active"] is False
    assert client.get("/api/v1/me", headers=target_headers).status_code == 401
    open_sessions = db.session.scalar(
        db.select(db.func.count(AuthSession.id)).where(
            AuthSession.user_id == target.id, AuthSession.revoked_at.is_(None)
        )
    )
    assert open_sessions == 0

    promoted = client.patch(
        f"/api/v1/admin/users/{target.id}", json={"role": "admin"}, headers=headers
    )
    assert promoted.get_json()["role"] == "admin"
    assert (
        client.patch(
            f"/api/v1/admin/users/{target.id}", json={"role": "root"}, headers=headers
        ).status_code
        == 422
    )
    self_demote = client.patch(
        f"/api/v1/admin/users/{admin.id}", json={"role": "user"}, headers=headers
    )
    assert self_demote.status_code == 409
    assert client.get(f"/api/v1/admin/users/{2**40}", headers=headers).status_code == 404


def test_admin_bookings_filters(client, admin, auth):
    a, b = UserFactory(), UserFactory()
    lot = LotFactory(spots=0)
    BookingFactory(user=a, spot__lot=lot)
    BookingFactory(user=b, status="active", ended_at=None, cost_cents=None)
    headers = auth(admin)

    def ids(query):
        page = client.get(f"/api/v1/admin/bookings?{query}", headers=headers).get_json()
        return sorted(item["user"]["id"] for item in page["items"])

    assert ids("") == sorted([a.id, b.id])
    assert ids(f"lot_id={lot.id}") == [a.id]
    assert ids(f"user_id={b.id}") == [b.id]
    assert ids("status=active") == [b.id]


def test_stats_revenue_in_configured_timezone(app, client, db, admin, auth):
    now = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 21:00 on the 19th in New York
    lot = LotFactory(spots=4)
    spots = spot_rows(db, lot.id)
    spots[0].is_occupied = True
    db.session.commit()  # committed setup, as a real booking would be
    active = BookingFactory(spot=spots[0], lot=lot, status="active", ended_at=None, cost_cents=None)
    active.active_spot_id, active.active_user_id = spots[0].id, active.user_id
    PaymentFactory(
        booking__spot=spots[1],
        booking__lot=lot,
        amount_cents=300,
        status="paid",
        created_at=now - timedelta(days=3),
        paid_at=now - timedelta(hours=1),  # revenue counts when the money was taken
    )
    PaymentFactory(
        booking__spot=spots[2],
        booking__lot=lot,
        amount_cents=500,
        status="paid",
        paid_at=now - timedelta(hours=5),
    )
    PaymentFactory(
        booking__spot=spots[3],
        booking__lot=lot,
        amount_cents=900,
        status="paid",
        paid_at=now - timedelta(days=30),
    )
    headers = auth(admin)
    app.config["TIMEZONE"] = "America/New_York"
    try:
        with time_machine.travel(now, tick=False):
            stats = client.get("/api/v1/admin/stats", headers=auth(admin)).get_json()
    finally:
        app.config["TIMEZONE"] = "UTC"

    assert stats["revenue_today_cents"] == 800  # both since 05:00 UTC on the 19th
    assert stats["revenue_month_cents"] == 800
    assert (stats["spots"], stats["occupied_spots"], stats["occupancy_percent"]) == (4, 1, 25.0)
    assert stats["active_bookings"] == 1 and stats["timezone"] == "America/New_York"
    per_lot = {item["id"]: item for item in stats["per_lot"]}
    assert per_lot[lot.id]["revenue_today_cents"] == 800
    assert per_lot[lot.id]["occupancy_percent"] == 25.0
    assert headers


def test_activity_merges_bookings_releases_registrations(client, user, admin, auth):
    lot = LotFactory(spots=1)
    headers = auth(user)
    booking = client.post(
        "/api/v1/bookings", json={"lot_id": lot.id, "vehicle_number": "A1"}, headers=headers
    ).get_json()
    client.post(f"/api/v1/bookings/{booking['id']}/release", headers=headers)

    items = client.get("/api/v1/admin/activity?limit=3", headers=auth(admin)).get_json()["items"]

    assert [item["type"] for item in items] == [
        "booking_released",
        "booking_started",
        "user_registered",
    ]
    assert items[0]["booking_id"] == booking["id"]
    assert client.get("/api/v1/admin/activity?limit=0", headers=auth(admin)).status_code == 422


# --- access matrix --------------------------------------------------------------------------

USER_ROUTES = [
    ("GET", "/api/v1/lots"),
    ("GET", "/api/v1/lots/1"),
    ("GET", "/api/v1/bookings"),
    ("POST", "/api/v1/bookings"),
    ("GET", "/api/v1/bookings/active"),
    ("GET", "/api/v1/bookings/1"),
    ("POST", "/api/v1/bookings/1/release"),
    ("GET", "/api/v1/me/stats"),
]
ADMIN_ROUTES = [
    ("GET", "/api/v1/admin/lots"),
    ("POST", "/api/v1/admin/lots"),
    ("GET", "/api/v1/admin/lots/1"),
    ("PATCH", "/api/v1/admin/lots/1"),
    ("DELETE", "/api/v1/admin/lots/1"),
    ("GET", "/api/v1/admin/lots/1/spots"),
    ("PATCH", "/api/v1/admin/spots/1"),
    ("GET", "/api/v1/admin/users"),
    ("GET", "/api/v1/admin/users/1"),
    ("PATCH", "/api/v1/admin/users/1"),
    ("DELETE", "/api/v1/admin/users/1"),
    ("GET", "/api/v1/admin/bookings"),
    ("GET", "/api/v1/admin/stats"),
    ("GET", "/api/v1/admin/activity"),
    ("GET", "/api/v1/admin/audit"),
]


@pytest.mark.parametrize(("method", "path"), USER_ROUTES + ADMIN_ROUTES)
def test_anonymous_is_401(client, method, path):
    response = client.open(path, method=method, json={})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_user_on_admin_routes_is_403(client, user, auth, method, path):
    response = client.open(path, method=method, json={}, headers=auth(user))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


def test_access_matrix_covers_every_route(app):
    listed = {(m, p.removeprefix("/api/v1")) for m, p in USER_ROUTES + ADMIN_ROUTES}
    actual = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in ("lots", "bookings", "admin", "stats"):
            continue
        path = rule.rule.removeprefix("/api/v1")
        for name in ("lot_id", "booking_id", "spot_id", "user_id"):
            path = path.replace(f"<id:{name}>", "1")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            actual.add((method, path))
    assert actual == listed
