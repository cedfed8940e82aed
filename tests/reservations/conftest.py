"""Helpers for reservation tests: a clock, requests in the contract's shape, the invariant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import text

API = "/api/v1"
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


class Driver:
    """A signed-in driver (signs in again whenever the clock has moved on)."""

    def __init__(self, client, auth, user):
        self.client, self.auth, self.user = client, auth, user

    @property
    def headers(self) -> dict:
        return self.auth(self.user)

    def reserve(self, lot_id, start, end, **extra):
        body = {
            "lot_id": lot_id,
            "start_at": iso(start),
            "end_at": iso(end),
            "vehicle_number": "KA01AB1234",
            **extra,
        }
        return self.client.post(f"{API}/reservations", json=body, headers=self.headers)

    def quote(self, lot_id, start, end, **extra):
        body = {"lot_id": lot_id, "start_at": iso(start), "end_at": iso(end), **extra}
        return self.client.post(f"{API}/reservations/quote", json=body, headers=self.headers)

    def act(self, reservation_id, action, **body):
        return self.client.post(
            f"{API}/reservations/{reservation_id}/{action}", json=body or None, headers=self.headers
        )

    def book(self, lot_id, **extra):
        body = {"lot_id": lot_id, "vehicle_number": "KA01XY0001", **extra}
        return self.client.post(f"{API}/bookings", json=body, headers=self.headers)

    def release_booking(self, booking_id):
        return self.client.post(f"{API}/bookings/{booking_id}/release", headers=self.headers)


@pytest.fixture
def driver_for(client, auth):
    from tests.factories import UserFactory

    def make(**fields) -> Driver:
        return Driver(client, auth, UserFactory(**fields))

    return make


def code(response) -> tuple[int, str | None]:
    body = response.get_json() or {}
    return response.status_code, (body.get("error") or {}).get("code")


# At one instant: pairs of commitments holding one spot. Holding reservations overlapping on a
# spot; an active booking on a spot whose confirmed reservation (not its own) covers now; a
# checked-in reservation without exactly one active booking; a lot with more commitments now
# than spots.
INVARIANT_SQL = (
    """
    SELECT a.id, b.id FROM reservations a JOIN reservations b
      ON a.spot_id = b.spot_id AND a.id < b.id
     AND a.start_at < b.end_at AND b.start_at < a.end_at
    WHERE (a.status = 'checked_in' OR (a.status = 'confirmed' AND a.start_at > :lapse))
      AND (b.status = 'checked_in' OR (b.status = 'confirmed' AND b.start_at > :lapse))
    """,
    """
    SELECT k.id, r.id FROM bookings k JOIN reservations r ON r.spot_id = k.active_spot_id
    WHERE k.status = 'active' AND r.status = 'confirmed' AND r.start_at > :lapse
      AND r.start_at <= :now AND r.end_at > :now
      AND (k.reservation_id IS NULL OR k.reservation_id <> r.id)
    """,
    """
    SELECT r.id, COUNT(k.id) FROM reservations r
      LEFT JOIN bookings k ON k.reservation_id = r.id AND k.status = 'active'
    WHERE r.status = 'checked_in' GROUP BY r.id HAVING COUNT(k.id) <> 1
    """,
    """
    SELECT s.lot_id, COUNT(*) FROM spots s
    WHERE EXISTS (SELECT 1 FROM bookings k WHERE k.active_spot_id = s.id)
       OR EXISTS (SELECT 1 FROM reservations r WHERE r.spot_id = s.id AND r.status = 'confirmed'
                  AND r.start_at > :lapse AND r.start_at <= :now AND r.end_at > :now)
    GROUP BY s.lot_id
    HAVING COUNT(*) > (SELECT COUNT(*) FROM spots t WHERE t.lot_id = s.lot_id
                       AND t.status <> 'removed')
    """,
)


def invariant_violations(connection, now: datetime, grace_minutes: int = 20) -> list:
    """Every violation of "no spot held by two commitments" at ``now`` (empty when it holds)."""

    def bind(moment: datetime):
        naive = moment.astimezone(UTC).replace(tzinfo=None)
        # SQLite keeps datetimes as text with microseconds: compare like with like.
        return (
            naive.strftime("%Y-%m-%d %H:%M:%S.%f") if connection.dialect.name == "sqlite" else naive
        )

    params = {"now": bind(now), "lapse": bind(now - timedelta(minutes=grace_minutes))}
    found = []
    for sql in INVARIANT_SQL:
        found += [tuple(row) for row in connection.execute(text(sql), params)]
    return found
