"""The operator's payment moves under real concurrency (gunicorn; one SQLite server or two
MariaDB or PostgreSQL servers on one database): the payment's row lock lets exactly one move
through, and exactly one audit row is written for it. Starts real processes: marked ``system``."""

from __future__ import annotations

import pytest
import requests

from tests.system.test_booking_races import bearer, burst, cluster, codes, seed, sql  # noqa: F401
from tests.system.test_write_races import _people

pytestmark = [pytest.mark.system, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def _admin_token(url: str) -> str:
    return _people(url, 1, role="admin")[0]["access_token"]


def _pending_payment(base: str, lot_id: int, token: str) -> int:
    booked = requests.post(
        f"{base}/api/v1/bookings",
        headers=bearer(token),
        json={"lot_id": lot_id, "vehicle_number": "RACE-1"},
        timeout=30,
    )
    assert booked.status_code == 201, booked.text
    booking_id = booked.json()["id"]
    released = requests.post(
        f"{base}/api/v1/bookings/{booking_id}/release", headers=bearer(token), timeout=30
    )
    assert released.status_code == 200, released.text
    listing = requests.get(f"{base}/api/v1/payments", headers=bearer(token), timeout=30).json()
    return next(item["id"] for item in listing["items"] if item["booking_id"] == booking_id)


@pytest.mark.parametrize(
    ("action", "body"), [("mark-paid", {}), ("refund", {"reason": "Barrier fault"})]
)
def test_twenty_admins_moving_one_payment_at_once_move_it_once(cluster, action, body):  # noqa: F811
    url, bases = cluster["url"], cluster["bases"]
    lot_id, [(_, driver)] = seed(url, spots=1, users=1)
    admin = _admin_token(url)
    payment_id = _pending_payment(bases[0], lot_id, driver)
    calls = [
        (
            "POST",
            f"{bases[i % len(bases)]}/api/v1/admin/payments/{payment_id}/{action}",
            bearer(admin),
            body,
        )
        for i in range(20)
    ]

    results = burst(calls)

    assert codes(results) == {(200, None): 1, (409, "invalid_transition"): 19}
    [(audits,)] = sql(
        url,
        "SELECT count(*) FROM admin_audit WHERE target_type = 'payment' AND target_id = :p",
        p=payment_id,
    )
    assert audits == 1
