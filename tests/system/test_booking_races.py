"""Booking under real concurrency: gunicorn workers (two servers on MariaDB and on PostgreSQL),
one database.

Every request of a burst waits on a barrier so they leave together. The server's answers and a
direct SQL check of the database must agree: no spot held twice, no user parked twice, exactly
one charge per booking.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import make_app
from tests.support.live_server import live_server, migrated_database

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module", params=["sqlite", "mariadb", "postgresql"])
def cluster(request, tmp_path_factory):
    """One committed database and its servers: one gunicorn on SQLite, two on a database server
    (MariaDB, PostgreSQL)."""
    backend = request.param
    tmp = tmp_path_factory.mktemp(f"live-{backend}")
    with migrated_database(backend, tmp) as url:
        env = {"DATABASE_URL": url, "PARKMIND_INSTANCE_PATH": str(tmp)}
        count = 1 if backend == "sqlite" else 2
        servers = []
        try:
            for index in range(count):
                cm = live_server(env, workers=3, threads=4, log_path=tmp / f"gunicorn{index}.log")
                servers.append((cm, cm.__enter__()))
            yield {"backend": backend, "url": url, "bases": [base for _, base in servers]}
        finally:
            for cm, _ in reversed(servers):
                cm.__exit__(None, None, None)


def seed(url: str, *, spots: int, users: int) -> tuple[int, list[tuple[int, str]]]:
    """A lot with ``spots`` spots and ``users`` users with access tokens, committed."""
    from app.accounts.models import User
    from app.accounts.service import start_session
    from app.lots.management import create_lot
    from app.platform.extensions import db
    from tests.factories import _password_hash

    app = make_app(url)
    tag = uuid.uuid4().hex[:8]
    with app.test_request_context():
        lot = create_lot(
            name=f"Race {tag}",
            address="1 Race Road",
            pin_code="560099",
            hourly_rate_cents=250,
            total_spots=spots,
        )
        people = [
            User(
                username=f"r{tag}_{i}",
                email=f"r{tag}_{i}@example.com",
                password_hash=_password_hash(),
                role="user",
                preferences={},
            )
            for i in range(users)
        ]
        db.session.add_all(people)
        db.session.flush()
        tokens = [(person.id, start_session(person)["access_token"]) for person in people]
        db.session.commit()
        lot_id = lot.id
        db.engine.dispose()
    return lot_id, tokens


def burst(calls: list[tuple[str, str, dict, dict | None]]) -> list[tuple[int, bytes]]:
    """Send every call at once (a barrier releases them together); status and body of each."""
    barrier = threading.Barrier(len(calls))

    def send(call):
        method, url, headers, body = call
        with requests.Session() as session:
            barrier.wait(timeout=60)
            response = session.request(method, url, headers=headers, json=body, timeout=60)
            return response.status_code, response.content

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(send, calls))


def codes(results) -> Counter:
    out = Counter()
    for status, body in results:
        code = json.loads(body)["error"]["code"] if status >= 400 else None
        out[(status, code)] += 1
    return out


def sql(url: str, query: str, **params):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(query), params).all()
    finally:
        engine.dispose()


def bearer(token: str, **extra) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def test_200_drivers_into_50_spots(cluster):
    url, bases = cluster["url"], cluster["bases"]
    lot_id, people = seed(url, spots=50, users=200)
    calls = [
        (
            "POST",
            f"{bases[i % len(bases)]}/api/v1/bookings",
            bearer(token),
            {"lot_id": lot_id, "vehicle_number": f"KA{i:04d}"},
        )
        for i, (_, token) in enumerate(people)
    ]
    started = time.monotonic()
    results = burst(calls)
    elapsed = time.monotonic() - started
    print(f"\n{cluster['backend']}: 200 bookings, 50 spots in {elapsed:.2f}s: {codes(results)}")

    assert all(status < 500 for status, _ in results)
    assert codes(results) == {(201, None): 50, (409, "lot_full"): 150}
    spot_numbers = sorted(json.loads(body)["spot"]["number"] for s, body in results if s == 201)
    assert spot_numbers == list(range(1, 51))
    doubled = sql(
        url,
        "SELECT spot_id FROM bookings WHERE status = 'active' GROUP BY spot_id HAVING COUNT(*) > 1",
    )
    assert doubled == []
    (occupied,) = sql(
        url, "SELECT COUNT(*) FROM spots WHERE lot_id = :lot AND is_occupied = true", lot=lot_id
    )[0]
    (active,) = sql(
        url,
        "SELECT COUNT(*) FROM bookings WHERE lot_id = :lot AND status = 'active'",
        lot=lot_id,
    )[0]
    assert occupied == active == 50


def test_one_driver_twenty_bookings_at_once(cluster):
    url, bases = cluster["url"], cluster["bases"]
    lot_id, [(user_id, token)] = seed(url, spots=30, users=1)
    calls = [
        (
            "POST",
            f"{bases[i % len(bases)]}/api/v1/bookings",
            bearer(token),
            {"lot_id": lot_id, "vehicle_number": "KA01"},
        )
        for i in range(20)
    ]
    results = burst(calls)
    assert codes(results) == {(201, None): 1, (409, "already_parked"): 19}
    rows = sql(url, "SELECT COUNT(*) FROM bookings WHERE user_id = :u", u=user_id)
    assert rows[0][0] == 1


def test_twenty_identical_requests_with_one_idempotency_key(cluster):
    url, bases = cluster["url"], cluster["bases"]
    lot_id, [(user_id, token)] = seed(url, spots=30, users=1)
    body = {"lot_id": lot_id, "vehicle_number": "KA02", "remarks": "blue van"}
    headers = bearer(token, **{"Idempotency-Key": "phone-retry-1"})
    calls = [("POST", f"{bases[i % len(bases)]}/api/v1/bookings", headers, body) for i in range(20)]
    results = burst(calls)

    assert {status for status, _ in results} == {201}
    assert len({content for _, content in results}) == 1
    rows = sql(url, "SELECT COUNT(*) FROM bookings WHERE user_id = :u", u=user_id)
    assert rows[0][0] == 1

    other = requests.post(
        f"{bases[0]}/api/v1/bookings",
        headers=headers,
        json={**body, "vehicle_number": "KA03"},
        timeout=30,
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_twenty_releases_at_once_charge_once(cluster):
    url, bases = cluster["url"], cluster["bases"]
    lot_id, [(_, token)] = seed(url, spots=5, users=1)
    booked = requests.post(
        f"{bases[0]}/api/v1/bookings",
        headers=bearer(token),
        json={"lot_id": lot_id, "vehicle_number": "KA04"},
        timeout=30,
    )
    assert booked.status_code == 201
    booking_id = booked.json()["id"]
    calls = [
        (
            "POST",
            f"{bases[i % len(bases)]}/api/v1/bookings/{booking_id}/release",
            bearer(token),
            None,
        )
        for i in range(20)
    ]
    results = burst(calls)

    assert codes(results) == {(200, None): 1, (409, "invalid_transition"): 19}
    payments = sql(url, "SELECT amount_cents FROM payments WHERE booking_id = :b", b=booking_id)
    released = next(json.loads(body) for status, body in results if status == 200)
    assert [row[0] for row in payments] == [released["cost_cents"]]
    (occupied,) = sql(
        url, "SELECT COUNT(*) FROM spots WHERE lot_id = :lot AND is_occupied = true", lot=lot_id
    )[0]
    assert occupied == 0
