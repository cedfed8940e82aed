"""The dashboard's kept counters (``app.platform.rollups``) equal the tables after every kind of
change, whoever makes it: the API, a job's ORM flush, an operator's SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import text

from app.platform import rollups
from tests.factories import PASSWORD, BookingFactory, LotFactory, PaymentFactory, UserFactory

API = "/api/v1"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def check(db):
    """``check()`` fails unless every counter equals the tables, and returns the counters."""

    def run() -> dict[str, int]:
        connection = db.session.connection()
        assert rollups.drift(connection) == {}
        return rollups.kept(connection)

    return run


def test_counters_follow_every_change(client, db, auth, admin, check):
    base = check()
    with time_machine.travel(NOW, tick=False):
        headers = auth(admin)
        drivers = [UserFactory() for _ in range(3)]
        lot = LotFactory(spots=4)
        other = LotFactory(spots=2)
        db.session.commit()
        assert check()["spots"] == base["spots"] + 6
        assert check()["users"] == base["users"] + 3

        # Booked and released through the API (Core statements, the payment through the ORM).
        driver = {"Authorization": auth(drivers[0])["Authorization"]}
        booked = client.post(
            f"{API}/bookings", json={"lot_id": lot.id, "vehicle_number": "KA-1"}, headers=driver
        )
        assert booked.status_code == 201, booked.get_json()
        after_booking = check()
        assert after_booking["occupied_spots"] == base["occupied_spots"] + 1
        assert after_booking["active_bookings"] == base["active_bookings"] + 1
        released = client.post(f"{API}/bookings/{booked.get_json()['id']}/release", headers=driver)
        assert released.status_code == 200, released.get_json()
        assert check()["active_bookings"] == base["active_bookings"]

        # Admin: shrink a lot, take a spot out of service, delete a lot, deactivate a driver.
        assert (
            client.patch(
                f"{API}/admin/lots/{lot.id}", json={"total_spots": 3}, headers=headers
            ).status_code
            == 200
        )
        assert check()["spots"] == base["spots"] + 5
        assert client.patch(f"{API}/admin/lots/{lot.id}", json={"total_spots": 5}, headers=headers)
        assert check()["spots"] == base["spots"] + 7
        assert client.delete(f"{API}/admin/lots/{other.id}", headers=headers).status_code == 204
        counters = check()
        assert (counters["spots"], counters["lots"]) == (base["spots"] + 5, base["lots"] + 1)
        assert (
            client.patch(
                f"{API}/admin/users/{drivers[1].id}", json={"is_active": False}, headers=headers
            ).status_code
            == 200
        )
        assert check()["active_users"] == base["active_users"] + 2

        # A payment marked paid, then refunded.
        payment = PaymentFactory(
            booking__lot=lot, booking__spot__lot=lot, booking__spot__number=99, amount_cents=700
        )
        db.session.commit()
        check()
        paid = client.post(f"{API}/admin/payments/{payment.id}/mark-paid", json={}, headers=headers)
        assert paid.status_code == 200
        assert rollups.kept_revenue(db.session.connection())[rollups.slot_of(NOW)] >= 700
        check()
        refund = {"reason": "Fault"}
        client.post(f"{API}/admin/payments/{payment.id}/refund", json=refund, headers=headers)
        check()

        # The account erased (deactivated, kept).
        before = check()
        erase = client.delete(
            f"{API}/me",
            json={"password": PASSWORD, "confirm": "DELETE MY ACCOUNT"},
            headers={"Authorization": auth(drivers[2])["Authorization"]},
        )
        assert erase.status_code == 204
        assert check()["active_users"] == before["active_users"] - 1

    # Plain SQL: a payment's time moved, an active booking written and deleted.
    db.session.execute(
        text("UPDATE payments SET status = 'paid', paid_at = :at WHERE id = :id"),
        {"at": (NOW - timedelta(days=40)).replace(tzinfo=None), "id": payment.id},
    )
    check()
    active = BookingFactory(status="active", spot__lot=lot, spot__number=98, ended_at=None)
    db.session.flush()
    assert check()["active_bookings"] == base["active_bookings"] + 1
    db.session.execute(text("DELETE FROM bookings WHERE id = :id"), {"id": active.id})
    assert check()["active_bookings"] == base["active_bookings"]


def test_a_login_does_not_touch_the_counters(client, db, user, check):
    """Only changes to a counted figure write a counter row (no lock taken on logins)."""
    before = db.session.execute(text("SELECT name, shard, value FROM stat_counters")).all()
    response = client.post(f"{API}/auth/login", json={"login": user.username, "password": PASSWORD})
    assert response.status_code == 200
    after = db.session.execute(text("SELECT name, shard, value FROM stat_counters")).all()
    assert sorted(before) == sorted(after)
    check()


def test_recount_repairs_counters(db, check):
    LotFactory(spots=3)
    db.session.flush()
    connection = db.session.connection()
    connection.execute(text("UPDATE stat_counters SET value = value + 5 WHERE name = 'spots'"))
    assert "spots" in rollups.drift(connection)
    rollups.recount(connection)
    check()
