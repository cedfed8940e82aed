"""Booking, release and history through the API; pricing seen by the driver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from app.payments.models import Payment
from tests.factories import BookingFactory, LotFactory, UserFactory
from tests.support import sql

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def book(client, headers, lot_id, **extra):
    body = {"lot_id": lot_id, "vehicle_number": "KA01AB1234", **extra}
    return client.post("/api/v1/bookings", json=body, headers=headers)


def test_booking_takes_lowest_free_spot_and_has_contract_fields(client, user, auth):
    lot = LotFactory(spots=3)
    from app.lots.models import Spot
    from app.platform.extensions import db

    first = db.session.scalar(db.select(Spot).where(Spot.lot_id == lot.id, Spot.number == 1))
    first.status = "out_of_service"

    response = book(client, auth(user), lot.id, remarks="near the lift")

    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/bookings/{body['id']}")
    assert body["spot"]["number"] == 2
    assert body["lot"] == {"id": lot.id, "name": lot.name}
    assert body["status"] == "active" and body["ended_at"] is None
    assert body["hourly_rate_cents"] == 250 and body["currency"] == "USD"
    assert body["remarks"] == "near the lift" and body["started_at"].endswith("Z")
    for name in ("duration_minutes", "cost_cents"):
        assert body[name] is None


def test_second_booking_is_already_parked_and_full_lot_is_lot_full(client, auth):
    lot = LotFactory(spots=1)
    first, second = UserFactory(), UserFactory()
    assert book(client, auth(first), lot.id).status_code == 201

    again = book(client, auth(first), lot.id)
    full = book(client, auth(second), lot.id)

    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "already_parked")
    assert (full.status_code, full.get_json()["error"]["code"]) == (409, "lot_full")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"lot_id": 1},
        {"lot_id": "1", "vehicle_number": "X"},
        {"lot_id": 2**40, "vehicle_number": "X"},
        {"lot_id": 1, "vehicle_number": ""},
        {"lot_id": 1, "vehicle_number": "X", "spot_id": 3},
    ],
)
def test_invalid_booking_bodies_are_422(client, user, auth, body):
    response = client.post("/api/v1/bookings", json=body, headers=auth(user))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_error"


def test_unknown_lot_is_404(client, user, auth):
    response = book(client, auth(user), 987654)
    assert (response.status_code, response.get_json()["error"]["code"]) == (404, "lot_not_found")


def test_idempotency_key_replays_and_rejects_other_body(client, db, user, auth):
    lot = LotFactory(spots=3)
    headers = {**auth(user), "Idempotency-Key": "abc-123"}

    first = book(client, headers, lot.id)
    replay = book(client, headers, lot.id)
    other = book(client, headers, lot.id, vehicle_number="OTHER")

    assert first.status_code == replay.status_code == 201
    assert first.data == replay.data
    assert replay.headers["Location"] == first.headers["Location"]
    assert other.status_code == 422
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"
    from app.bookings.models import Booking

    assert db.session.scalar(db.select(db.func.count(Booking.id))) == 1


def test_idempotency_key_is_per_user_and_bounded(client, auth):
    lot = LotFactory(spots=3)
    alice, bob = UserFactory(), UserFactory()
    a = book(client, {**auth(alice), "Idempotency-Key": "same"}, lot.id)
    b = book(client, {**auth(bob), "Idempotency-Key": "same"}, lot.id)
    assert a.status_code == b.status_code == 201
    assert a.get_json()["id"] != b.get_json()["id"]
    too_long = book(client, {**auth(alice), "Idempotency-Key": "k" * 256}, lot.id)
    assert too_long.status_code == 422


def test_refusals_are_not_stored_under_the_key(client, auth):
    lot = LotFactory(spots=1)
    holder, driver = UserFactory(), UserFactory()
    holder_headers, headers = auth(holder), {**auth(driver), "Idempotency-Key": "retry-me"}
    booked = book(client, holder_headers, lot.id)
    assert book(client, headers, lot.id).status_code == 409
    client.post(f"/api/v1/bookings/{booked.get_json()['id']}/release", headers=holder_headers)
    assert book(client, headers, lot.id).status_code == 201


@pytest.mark.parametrize(
    ("rule", "minutes", "expected"),
    [
        ({}, 61, 500),
        ({"billing_increment_minutes": 15}, 61, 313),
        ({"free_minutes": 15}, 10, 0),
        ({"daily_max_cents": 2000}, 26 * 60, 2500),
    ],
)
def test_release_fixes_cost_by_the_worked_examples(client, db, auth, rule, minutes, expected):
    lot = LotFactory(spots=1, hourly_rate_cents=250, **rule)
    driver = UserFactory()
    with time_machine.travel(START, tick=False) as clock:
        booking = book(client, auth(driver), lot.id).get_json()
        clock.shift(timedelta(minutes=minutes))
        released = client.post(f"/api/v1/bookings/{booking['id']}/release", headers=auth(driver))

    assert released.status_code == 200
    body = released.get_json()
    assert body["status"] == "completed"
    assert body["cost_cents"] == expected
    assert body["duration_minutes"] == minutes
    ended = START + timedelta(minutes=minutes)
    assert body["ended_at"] == ended.isoformat().replace("+00:00", "Z")
    payment = db.session.scalar(db.select(Payment).where(Payment.booking_id == booking["id"]))
    assert (payment.amount_cents, payment.status, payment.currency) == (expected, "pending", "USD")


def test_rate_is_frozen_when_the_booking_starts(client, auth, admin):
    lot = LotFactory(spots=1, hourly_rate_cents=250)
    driver = UserFactory()
    with time_machine.travel(START, tick=False) as clock:
        booking = book(client, auth(driver), lot.id).get_json()
        changed = client.patch(
            f"/api/v1/admin/lots/{lot.id}", json={"hourly_rate_cents": 1000}, headers=auth(admin)
        )
        assert changed.status_code == 200
        clock.shift(timedelta(minutes=30))
        current = client.get(f"/api/v1/bookings/{booking['id']}", headers=auth(driver))
        clock.shift(timedelta(minutes=31))
        released = client.post(f"/api/v1/bookings/{booking['id']}/release", headers=auth(driver))

    assert current.get_json()["cost_so_far_cents"] == 250
    assert current.get_json()["hourly_rate_cents"] == 250
    assert released.get_json()["cost_cents"] == 500
    assert released.get_json()["cost_so_far_cents"] is None


def test_release_twice_is_invalid_transition_and_charges_once(client, db, user, auth):
    lot = LotFactory(spots=1)
    headers = auth(user)
    booking = book(client, headers, lot.id).get_json()
    first = client.post(f"/api/v1/bookings/{booking['id']}/release", headers=headers)
    second = client.post(f"/api/v1/bookings/{booking['id']}/release", headers=headers)

    assert first.status_code == 200
    assert (second.status_code, second.get_json()["error"]["code"]) == (409, "invalid_transition")
    count = db.session.scalar(
        db.select(db.func.count(Payment.id)).where(Payment.booking_id == booking["id"])
    )
    assert count == 1
    # The spot is free again and the driver can park anew.
    assert client.get(f"/api/v1/lots/{lot.id}", headers=headers).get_json()["free_spots"] == 1
    assert book(client, headers, lot.id).status_code == 201


def test_active_booking_history_and_filters(client, user, auth):
    lot = LotFactory(spots=1)
    BookingFactory(user=user, spot__lot=lot, spot__number=2)
    headers = auth(user)
    none = client.get("/api/v1/bookings/active", headers=headers)
    assert (none.status_code, none.get_json()["error"]["code"]) == (404, "no_active_booking")

    booking = book(client, headers, lot.id).get_json()
    active = client.get("/api/v1/bookings/active", headers=headers)
    history = client.get("/api/v1/bookings", headers=headers).get_json()
    completed = client.get("/api/v1/bookings?status=completed", headers=headers).get_json()

    assert active.status_code == 200 and active.get_json()["id"] == booking["id"]
    assert active.get_json()["cost_so_far_cents"] == 250
    assert history["total"] == 2 and history["items"][0]["id"] == booking["id"]
    assert [item["status"] for item in completed["items"]] == ["completed"]
    assert client.get("/api/v1/bookings?status=bogus", headers=headers).status_code == 422


def test_other_users_booking_is_404(client, user, auth):
    other = BookingFactory(status="active", ended_at=None, cost_cents=None)
    headers = auth(user)
    for response in (
        client.get(f"/api/v1/bookings/{other.id}", headers=headers),
        client.post(f"/api/v1/bookings/{other.id}/release", headers=headers),
        client.get(f"/api/v1/bookings/{2**40}", headers=headers),
    ):
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "booking_not_found"


def test_my_stats(client, db, user, auth):
    from tests.factories import RetrievalScoreFactory

    lot = LotFactory(spots=1)
    BookingFactory(user=user, spot__lot=lot, spot__number=2, cost_cents=700)
    RetrievalScoreFactory(event__user=user, total=72.5)
    headers = auth(user)
    booking = book(client, headers, lot.id).get_json()

    stats = client.get("/api/v1/me/stats", headers=headers)

    assert stats.status_code == 200
    body = stats.get_json()
    assert body["bookings"] == 2 and body["completed_bookings"] == 1
    assert body["total_spend_cents"] == 700 and body["currency"] == "USD"
    assert body["active_booking"]["id"] == booking["id"]
    assert body["retrievals"] == 1 and body["latest_score"]["total"] == 72.5


def release_watched(client, db, user, auth):
    """Book a one-spot lot, then release: the lot, the answer and the release's statements."""
    lot = LotFactory(spots=1)
    db.session.commit()
    headers = auth(user)
    booking = book(client, headers, lot.id).get_json()
    with sql.statements(db.engine) as statements:
        released = client.post(f"/api/v1/bookings/{booking['id']}/release", headers=headers)
    assert released.status_code == 200
    return lot, released, statements


def test_a_release_writes_the_payment_once(client, db, user, auth):
    """With the manual provider nothing changes after the charge: one INSERT, no UPDATE."""

    _, _, statements = release_watched(client, db, user, auth)
    payments = [s for s in statements if "payments" in s.split(" where ")[0]]
    assert [s.split(" ")[0] for s in payments] == ["insert"], payments


def test_booking_is_written_with_core_statements(client, db, user, auth):
    """No Booking object and no unit-of-work flush: the spot UPDATE and the INSERT
    are the booking's two writes, and the answer is built from what was written."""

    from app.accounts.models import User
    from app.bookings.models import Booking
    from app.lots.models import Lot, Spot

    lot = LotFactory(spots=2)
    db.session.commit()
    headers = auth(user)
    with (
        sql.orm_objects(Booking, event="init") as built,
        sql.orm_objects(Booking, Lot, Spot, User) as loaded,
        sql.statements(db.engine) as statements,
    ):
        response = book(client, headers, lot.id)
    assert response.status_code == 201
    body = response.get_json()
    assert built == []
    # The lot, the spot and the driver are read as rows too: no object is loaded.
    assert loaded == []
    writes = [
        s.split(" ")[0] + " " + s.split(" ")[1 if s.startswith("update") else 2]
        for s in statements
        if s.startswith(("insert", "update"))
    ]
    assert writes == ["update spots", "insert bookings"], statements
    [taken] = [s for s in statements if s.startswith("update spots")]
    assert "," not in taken.split(" set ")[1].split(" where ")[0], taken  # is_occupied alone
    # The spot's re-check under its lock is the UPDATE's own condition, not a read of its own.
    assert not [s for s in statements if s.startswith("select reservations")], statements
    shown = client.get(f"/api/v1/bookings/{body['id']}", headers=headers).get_json()
    assert {k: v for k, v in body.items() if k != "cost_so_far_cents"} == {
        k: v for k, v in shown.items() if k != "cost_so_far_cents"
    }


def test_a_release_reads_two_rows_under_their_locks(client, db, user, auth):
    """The booking's locking read also brings its lot's name and the driver's receipt
    preference; the spot's lock is the only other read. No separate lot or user read."""
    lot, released, statements = release_watched(client, db, user, auth)
    assert released.get_json()["lot"] == {"id": lot.id, "name": lot.name}
    reads = [
        s.split(" from ")[-1].split(" ")[0]
        for s in statements
        if s.startswith("select") and "auth_sessions" not in s
    ]
    assert reads == ["bookings", "spots"], statements


def test_a_reservation_written_after_the_spot_query_keeps_its_spot(client, db, user, auth):
    """A walk-in's spot is taken only if it is still clear when the UPDATE runs under the row
    lock: a reservation that lands after the spot query read (here, just before the UPDATE)
    keeps its spot, and the walk-in gets the next one."""
    import sqlalchemy as sa

    from app.lots.models import Spot
    from app.platform.models import utcnow
    from app.reservations.models import Reservation

    lot = LotFactory(spots=2)
    holder = UserFactory()
    db.session.commit()
    first, second = db.session.scalars(
        sa.select(Spot.id).where(Spot.lot_id == lot.id).order_by(Spot.number)
    ).all()
    headers = auth(user)
    now = utcnow()
    reservation = {
        "user_id": holder.id,
        "lot_id": lot.id,
        "spot_id": first,
        "vehicle_number": "KA02CD5678",
        "status": "confirmed",
        "start_at": now + timedelta(minutes=1),
        "end_at": now + timedelta(hours=2),
        "feature_mask": 0,
        "hourly_rate_cents": 250,
        "billing_increment_minutes": 60,
        "free_minutes": 0,
        "amount_cents": 500,
        "cancellation_fee_cents": 0,
        "currency": "USD",
    }
    landed = []

    def reserve_first(conn, cursor, statement, parameters, context, executemany):
        if not landed and " ".join(statement.split()).lower().startswith("update spots"):
            inserted = conn.execute(sa.insert(Reservation.__table__), reservation)
            landed.append(inserted.inserted_primary_key[0])

    sa.event.listen(db.engine, "before_cursor_execute", reserve_first)
    try:
        response = book(client, headers, lot.id)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", reserve_first)
    assert response.status_code == 201, response.get_json()
    [reservation_id] = landed
    assert db.session.get(Reservation, reservation_id).spot_id == first
    assert response.get_json()["spot"]["id"] == second
    occupied = dict(db.session.execute(sa.select(Spot.id, Spot.is_occupied)).all())
    assert (occupied[first], occupied[second]) == (False, True)


def test_release_reads_and_writes_with_core_statements(client, db, user, auth):
    """No object loaded or built: the booking and its spot are locked, read and written as rows,
    the payment is one INSERT, and the answer is the booking as it now stands."""

    from app.accounts.models import User
    from app.bookings.models import Booking
    from app.lots.models import Lot, Spot
    from app.payments.models import Payment

    lot = LotFactory(spots=1)
    db.session.commit()
    headers = auth(user)
    booking = book(client, headers, lot.id).get_json()
    with (
        sql.orm_objects(Booking, Lot, Spot, User, Payment) as loaded,
        sql.orm_objects(Payment, event="init") as built,
        sql.statements(db.engine) as statements,
    ):
        released = client.post(f"/api/v1/bookings/{booking['id']}/release", headers=headers)
    assert released.status_code == 200
    body = released.get_json()
    assert loaded == [] and built == []
    writes = [" ".join(s.split(" ")[:3]) for s in statements if s.startswith(("insert", "update"))]
    assert writes == ["update spots set", "update bookings set", "insert into payments"], writes
    assert body == client.get(f"/api/v1/bookings/{booking['id']}", headers=headers).get_json()
    assert body["status"] == "completed" and body["cost_so_far_cents"] is None
