"""Check-then-write rules under real concurrency (gunicorn, one SQLite server or two MariaDB
servers on one database): every check that guards a write reads current data under its lock."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import make_app
from tests.system.test_booking_races import bearer, burst, cluster, codes, sql  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _people(url: str, count: int, *, landmarks: int = 0, role: str = "user") -> list[dict]:
    """``count`` users, each with a session's tokens and a parking event with ``landmarks``."""
    from app.accounts.models import User
    from app.accounts.service import start_session
    from app.parking.models import Landmark, ParkingEvent
    from app.platform.extensions import db
    from app.platform.models import utcnow
    from tests.factories import _password_hash

    app = make_app(url)
    tag = uuid.uuid4().hex[:8]
    found = []
    with app.test_request_context():
        for index in range(count):
            person = User(
                username=f"w{tag}_{index}",
                email=f"w{tag}_{index}@example.com",
                password_hash=_password_hash(),
                role=role,
                preferences={},
            )
            db.session.add(person)
            db.session.flush()
            event = ParkingEvent(
                user_id=person.id, latitude=48.85, longitude=2.29, parked_at=utcnow()
            )
            event.landmarks = [Landmark(name=f"mark {n}") for n in range(landmarks)]
            db.session.add(event)
            db.session.flush()
            tokens = start_session(person)
            found.append({"id": person.id, "event_id": event.id, **tokens})
        db.session.commit()
        db.engine.dispose()
    return found


def test_the_landmark_cap_holds_under_concurrent_adds(cluster):  # noqa: F811
    url, bases = cluster["url"], cluster["bases"]
    [person] = _people(url, 1, landmarks=8)
    calls = [
        (
            "POST",
            f"{bases[i % len(bases)]}/api/v1/parking-events/{person['event_id']}/landmarks",
            bearer(person["access_token"]),
            {"name": f"corner {i}"},
        )
        for i in range(12)
    ]
    results = burst(calls)
    assert codes(results) == {(201, None): 2, (409, "too_many_landmarks"): 10}
    [(count,)] = sql(
        url, "SELECT count(*) FROM landmarks WHERE event_id = :e", e=person["event_id"]
    )
    assert count == 10


def test_one_refresh_token_redeemed_twice_at_once_has_one_winner(cluster):  # noqa: F811
    url, bases = cluster["url"], cluster["bases"]
    [person] = _people(url, 1)
    refresh = bearer(person["refresh_token"])
    calls = [
        ("POST", f"{bases[i % len(bases)]}/api/v1/auth/refresh", refresh, None) for i in (0, 1)
    ]
    results = burst(calls)
    assert codes(results) == {(200, None): 1, (401, "token_reused"): 1}
    # The reuse revoked the session: the winner's new tokens do not work either.
    winner = next(json.loads(body) for status, body in results if status == 200)
    again = burst(
        [("POST", f"{bases[0]}/api/v1/auth/refresh", bearer(winner["refresh_token"]), None)]
    )
    assert again[0][0] == 401
    [(revoked,)] = sql(
        url,
        "SELECT count(*) FROM auth_sessions WHERE user_id = :u AND revoked_at IS NOT NULL",
        u=person["id"],
    )
    assert revoked == 1


def test_six_users_taking_one_email_at_once_get_one_200_and_409s(cluster):  # noqa: F811
    url, bases = cluster["url"], cluster["bases"]
    people = _people(url, 6)
    wanted = f"same-{uuid.uuid4().hex[:8]}@example.com"
    calls = [
        (
            "PATCH",
            f"{bases[i % len(bases)]}/api/v1/me",
            bearer(p["access_token"]),
            {"email": wanted},
        )
        for i, p in enumerate(people)
    ]
    results = burst(calls)
    assert all(status < 500 for status, _ in results), results
    assert codes(results) == {(200, None): 1, (409, "email_taken"): 5}
    [(holders,)] = sql(url, "SELECT count(*) FROM users WHERE email = :e", e=wanted)
    assert holders == 1


def test_deleting_a_lot_while_drivers_book_leaves_no_booking_in_a_deleted_lot(cluster):  # noqa: F811
    from tests.system.test_booking_races import seed

    url, bases = cluster["url"], cluster["bases"]
    lot_id, people = seed(url, spots=20, users=12)
    admin = _people(url, 1, role="admin")[0]
    calls = [
        (
            "POST",
            f"{bases[i % len(bases)]}/api/v1/bookings",
            bearer(token),
            {"lot_id": lot_id, "vehicle_number": f"DL{i:04d}"},
        )
        for i, (_, token) in enumerate(people)
    ]
    calls.insert(
        6, ("DELETE", f"{bases[0]}/api/v1/admin/lots/{lot_id}", bearer(admin["access_token"]), None)
    )
    results = burst(calls)
    assert all(status < 500 for status, _ in results), results
    deleted = results[6][0] == 204
    rows = sql(
        url,
        "SELECT count(*) FROM bookings b JOIN lots l ON l.id = b.lot_id "
        "WHERE b.lot_id = :l AND b.status = 'active' AND l.deleted_at IS NOT NULL",
        l=lot_id,
    )
    assert rows == [(0,)]
    booked = sum(1 for status, _ in results if status == 201)
    # Deleted only if no booking got in first; a booking after the delete finds no lot.
    assert deleted == (booked == 0)
    assert results[6][0] in (204, 409)
