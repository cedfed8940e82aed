"""Reservations and walk-ins racing for one lot through gunicorn (one server on SQLite, two on
one MariaDB or PostgreSQL database): 100 drivers reserving overlapping intervals in a 10-spot lot
at once, mixed with walk-ins. At every instant no spot is held by two commitments (checked in
SQL), every refusal is a clean 409."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from tests.system.test_booking_races import bearer, burst, cluster, codes, seed, sql  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

OVERLAPS = """
    SELECT a.id, b.id FROM reservations a JOIN reservations b
      ON a.spot_id = b.spot_id AND a.id < b.id
     AND a.start_at < b.end_at AND b.start_at < a.end_at
    WHERE a.lot_id = :lot AND a.status IN ('confirmed', 'checked_in')
      AND b.status IN ('confirmed', 'checked_in')
"""
# A walk-in on a spot whose reservation starts within the settle lead (45 minutes).
WALKIN_IN_THE_WAY = """
    SELECT k.id, r.id FROM bookings k JOIN reservations r ON r.spot_id = k.active_spot_id
    WHERE k.lot_id = :lot AND k.status = 'active' AND r.status = 'confirmed'
      AND r.start_at < :soon
"""


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_100_drivers_reserving_overlapping_intervals_with_walk_ins(cluster):  # noqa: F811
    url, bases = cluster["url"], cluster["bases"]
    lot_id, people = seed(url, spots=10, users=130)
    rng = random.Random(42)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    base = now + timedelta(hours=1)
    calls, intervals = [], []
    for index, (_, token) in enumerate(people):
        server = bases[index % len(bases)]
        if index % 13 == 0 or index >= 120:  # 20 walk-ins among 110 reservations
            body = {"lot_id": lot_id, "vehicle_number": f"W{index:04d}"}
            calls.append(("POST", f"{server}/api/v1/bookings", bearer(token), body))
            intervals.append(None)
            continue
        start = base + timedelta(minutes=15 * rng.randint(0, 16))
        end = start + timedelta(minutes=60 * rng.randint(1, 3))
        body = {
            "lot_id": lot_id,
            "start_at": iso(start),
            "end_at": iso(end),
            "vehicle_number": f"R{index:04d}",
        }
        calls.append(("POST", f"{server}/api/v1/reservations", bearer(token), body))
        intervals.append((start, end))

    results = burst(calls)
    tally = codes(results)
    print(f"\n{cluster['backend']}: {len(calls)} requests: {dict(tally)}")

    assert all(status in (201, 409) for status, _ in results), tally
    assert {code for (status, code) in tally if status == 409} <= {"lot_full"}
    assert sql(url, OVERLAPS, lot=lot_id) == []
    soon = (now + timedelta(minutes=45)).replace(tzinfo=None)
    assert sql(url, WALKIN_IN_THE_WAY, lot=lot_id, soon=soon) == []
    # At every quarter hour of the busy window: no more commitments than spots.
    reserved = [
        (start, end)
        for (status, _), interval in zip(results, intervals, strict=True)
        if interval is not None and status == 201
        for start, end in [interval]
    ]
    for quarter in range(0, 4 * 8):
        instant = base + timedelta(minutes=15 * quarter)
        holding = sum(1 for start, end in reserved if start <= instant < end)
        assert holding <= 10, (instant, holding)
    walked = [
        json.loads(body)["spot"]["number"]
        for (status, body), interval in zip(results, intervals, strict=True)
        if interval is None and status == 201
    ]
    assert len(walked) == len(set(walked)) == 10  # reservations an hour away leave room
    assert sum(1 for interval in intervals if interval) >= 100
