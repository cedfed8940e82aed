"""Helpers for the payment tests: a lot made by an admin, a stay booked and released by a driver
at fixed times, all through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # 09:00 in Paris (CET)
API = "/api/v1"


@pytest.fixture
def make_lot(client, admin, auth):
    """``make_lot(**fields)`` → the lot created through ``POST /admin/lots``."""

    def create(**fields):
        body = {
            "name": "Quai Ouest",
            "address": "12 Rue du Port, Paris",
            "pin_code": "75001",
            "hourly_rate_cents": 250,
            "total_spots": 3,
            **fields,
        }
        response = client.post(f"{API}/admin/lots", json=body, headers=auth(admin))
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return create


@pytest.fixture
def park(client, auth):
    """``park(driver, lot_id, minutes, start=START)`` books, waits and releases through the API;
    returns the released booking."""

    def stay(driver, lot_id: int, minutes: int, start: datetime = START) -> dict:
        with time_machine.travel(start, tick=False) as clock:
            headers = auth(driver)  # a token issued "now", inside the travelled time
            booked = client.post(
                f"{API}/bookings",
                json={"lot_id": lot_id, "vehicle_number": "AB-123-CD"},
                headers=headers,
            )
            assert booked.status_code == 201, booked.get_json()
            clock.shift(timedelta(minutes=minutes))
            released = client.post(
                f"{API}/bookings/{booked.get_json()['id']}/release", headers=auth(driver)
            )
        assert released.status_code == 200, released.get_json()
        return released.get_json()

    return stay


@pytest.fixture
def payment_of(client, auth):
    """``payment_of(driver, booking_id)`` → the driver's payment of that booking (API)."""

    def find(driver, booking_id: int) -> dict:
        items = client.get(f"{API}/payments?per_page=100", headers=auth(driver)).get_json()
        [payment] = [item for item in items["items"] if item["booking_id"] == booking_id]
        return payment

    return find
