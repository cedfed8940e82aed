"""Reservations through the API: quote, reserve, check in, extend, cancel, release, no-shows,
walk-ins beside reservations, and overstays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.bookings.pricing import PriceRule, compute_cost_cents
from app.lots.models import Spot
from app.notifications.models import Notification
from app.payments.models import Payment
from app.reservations.models import Reservation
from tests.factories import LotFactory
from tests.reservations.conftest import API, T0, code, invariant_violations, iso

H = timedelta(hours=1)
M = timedelta(minutes=1)


@pytest.fixture
def lot(db):
    return LotFactory(spots=3, hourly_rate_cents=300, cancellation_fee_cents=500)


def spot_number(db, spot_id):
    return db.session.get(Spot, spot_id).number


def kinds_of(db, user):
    return db.session.scalars(
        select(Notification.kind).where(Notification.user_id == user.id).order_by(Notification.id)
    ).all()


def test_quote_prices_the_interval_with_the_lot_rule(clock, lot, driver_for):
    driver = driver_for()
    response = driver.quote(lot.id, T0 + 24 * H, T0 + 26 * H + 30 * M)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["available"] is True
    assert body["amount_cents"] == 900  # 3 started hours at 3.00
    assert body["currency"] == "USD"
    assert body["breakdown"]["billable_minutes"] == 180
    assert body["breakdown"]["total_cents"] == 900
    assert body["cancellation_free_until"] == iso(T0 + 22 * H)
    assert body["cancellation_fee_cents"] == 500
    assert body["price_rule"]["hourly_rate_cents"] == 300


def test_reserve_returns_the_contract_object_and_location(clock, db, lot, driver_for):
    driver = driver_for()
    response = driver.reserve(lot.id, T0 + 24 * H, T0 + 26 * H)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"].endswith(f"{API}/reservations/{body['id']}")
    for name in [
        "id",
        "lot",
        "spot",
        "vehicle_number",
        "status",
        "start_at",
        "end_at",
        "features",
        "amount_cents",
        "cost_cents",
        "cancellation_fee_cents",
        "currency",
        "checked_in_at",
        "ended_at",
    ]:
        assert name in body
    assert body["status"] == "confirmed" and body["spot"]["number"] == 1
    assert body["amount_cents"] == 600 and body["cost_cents"] is None
    shown = driver.client.get(f"{API}/reservations/{body['id']}", headers=driver.headers)
    assert shown.get_json() == body
    listed = driver.client.get(f"{API}/reservations", headers=driver.headers).get_json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]


def test_same_idempotency_key_gives_one_reservation(clock, db, lot, driver_for):
    driver = driver_for()
    body = {
        "lot_id": lot.id,
        "start_at": iso(T0 + 5 * H),
        "end_at": iso(T0 + 6 * H),
        "vehicle_number": "KA01",
    }
    headers = {**driver.headers, "Idempotency-Key": "r-1"}
    first = driver.client.post(f"{API}/reservations", json=body, headers=headers)
    again = driver.client.post(f"{API}/reservations", json=body, headers=headers)
    other = driver.client.post(
        f"{API}/reservations", json={**body, "vehicle_number": "KA02"}, headers=headers
    )
    assert first.status_code == again.status_code == 201
    assert first.data == again.data
    assert code(other) == (422, "idempotency_key_reused")
    count = db.session.scalar(
        select(Reservation.id).where(Reservation.user_id == driver.user.id).limit(2)
    )
    assert count == first.get_json()["id"]


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (-1 * H, 1 * H, "start_at"),  # in the past
        (2 * H, 2 * H + 30 * M, "end_at"),  # shorter than the 60-minute increment
        (24 * 30 * H, 24 * 31 * H, "end_at"),  # beyond 30 days
        (3 * H, 2 * H, "end_at"),  # ends before it starts
    ],
)
def test_bad_intervals_are_422_with_the_field(clock, lot, driver_for, start, end, field):
    response = driver_for().reserve(lot.id, T0 + start, T0 + end)
    assert code(response) == (422, "validation_error")
    assert field in response.get_json()["error"]["fields"]


def test_overlapping_intervals_fill_the_lot_then_refuse(clock, db, lot, driver_for):
    spots = []
    for _ in range(3):
        response = driver_for().reserve(lot.id, T0 + 2 * H, T0 + 4 * H)
        assert response.status_code == 201
        spots.append(response.get_json()["spot"]["number"])
    assert sorted(spots) == [1, 2, 3]
    assert code(driver_for().reserve(lot.id, T0 + 3 * H, T0 + 5 * H)) == (409, "lot_full")
    # Back to back is fine: [4h, 6h) starts when the others end.
    assert driver_for().reserve(lot.id, T0 + 4 * H, T0 + 6 * H).status_code == 201
    assert driver_for().quote(lot.id, T0 + 3 * H, T0 + 5 * H).get_json()["available"] is False


def test_one_driver_cannot_hold_two_overlapping_reservations(clock, lot, driver_for):
    driver = driver_for()
    assert driver.reserve(lot.id, T0 + 2 * H, T0 + 4 * H).status_code == 201
    assert code(driver.reserve(lot.id, T0 + 3 * H, T0 + 5 * H)) == (409, "reservation_overlap")


def test_check_in_window_billing_and_release(clock, db, lot, driver_for):
    driver = driver_for()
    reservation = driver.reserve(lot.id, T0 + 2 * H, T0 + 4 * H).get_json()
    clock.move_to(T0 + 2 * H - 31 * M)
    assert code(driver.act(reservation["id"], "check-in")) == (409, "check_in_not_open")
    clock.move_to(T0 + 2 * H - 30 * M)
    checked = driver.act(reservation["id"], "check-in")
    assert checked.status_code == 200, checked.get_json()
    body = checked.get_json()
    assert body["status"] == "checked_in" and body["booking_id"] is not None
    active = driver.client.get(f"{API}/bookings/active", headers=driver.headers).get_json()
    assert active["id"] == body["booking_id"] and active["spot"] == body["spot"]
    assert code(driver.act(reservation["id"], "check-in")) == (409, "invalid_transition")
    assert code(driver.book(lot.id)) == (409, "already_parked")
    # Leaving an hour early still pays to the reserved end; billing runs from the start.
    clock.move_to(T0 + 3 * H)
    released = driver.act(reservation["id"], "release").get_json()
    assert released["status"] == "completed" and released["cost_cents"] == 600
    payment = db.session.scalar(select(Payment).where(Payment.reservation_id == reservation["id"]))
    assert (payment.amount_cents, payment.kind, payment.booking_id) == (
        600,
        "parking",
        body["booking_id"],
    )
    assert code(driver.act(reservation["id"], "release")) == (409, "invalid_transition")


def test_overstaying_the_reserved_end_is_billed_to_release(clock, db, lot, driver_for):
    driver = driver_for()
    reservation = driver.reserve(lot.id, T0 + H, T0 + 2 * H).get_json()
    clock.move_to(T0 + H)
    booking_id = driver.act(reservation["id"], "check-in").get_json()["booking_id"]
    clock.move_to(T0 + 3 * H + 10 * M)
    # Released through the booking route: the reservation's rules still apply.
    released = driver.release_booking(booking_id).get_json()
    assert released["cost_cents"] == 900  # 2 h 10 min from the start: 3 started hours
    shown = driver.client.get(f"{API}/reservations/{reservation['id']}", headers=driver.headers)
    assert shown.get_json()["status"] == "completed" and shown.get_json()["cost_cents"] == 900


def test_extend_while_free_and_refused_when_the_next_reservation_needs_the_spot(
    clock, db, driver_for
):
    lot = LotFactory(spots=1, hourly_rate_cents=300)
    first, second = driver_for(), driver_for()
    mine = first.reserve(lot.id, T0 + H, T0 + 2 * H).get_json()
    extended = first.act(mine["id"], "extend", end_at=iso(T0 + 3 * H))
    assert extended.status_code == 200 and extended.get_json()["amount_cents"] == 600
    assert second.reserve(lot.id, T0 + 3 * H, T0 + 4 * H).status_code == 201
    refused = first.act(mine["id"], "extend", end_at=iso(T0 + 3 * H + 30 * M))
    assert code(refused) == (409, "extension_unavailable")
    shorter = first.act(mine["id"], "extend", end_at=iso(T0 + 2 * H))
    assert code(shorter) == (422, "validation_error")


def test_cancellation_is_free_until_the_cutoff_then_costs_the_lot_fee(clock, db, lot, driver_for):
    early, late = driver_for(), driver_for()
    free = early.reserve(lot.id, T0 + 5 * H, T0 + 6 * H).get_json()
    paid = late.reserve(lot.id, T0 + 5 * H, T0 + 6 * H).get_json()
    lot.cancellation_fee_cents = 9999  # the fee is frozen when the reservation is made
    clock.move_to(T0 + 3 * H)  # exactly CANCELLATION_FREE_HOURS before the start: still free
    cancelled = early.act(free["id"], "cancel").get_json()
    assert (cancelled["status"], cancelled["cancellation_fee_cents"]) == ("cancelled", 0)
    clock.move_to(T0 + 3 * H + timedelta(seconds=1))
    charged = late.act(paid["id"], "cancel").get_json()
    assert charged["cancellation_fee_cents"] == 500
    fees = db.session.scalars(
        select(Payment).where(Payment.reservation_id.in_([free["id"], paid["id"]]))
    ).all()
    assert [(f.reservation_id, f.kind, f.amount_cents) for f in fees] == [
        (paid["id"], "cancellation_fee", 500)
    ]
    assert code(late.act(paid["id"], "cancel")) == (409, "invalid_transition")


def test_no_show_after_grace_lazily_and_by_the_job(clock, db, lot, driver_for, run_job):
    driver = driver_for()
    reservation = driver.reserve(lot.id, T0 + H, T0 + 3 * H).get_json()
    clock.move_to(T0 + H + 19 * M)
    assert driver.act(reservation["id"], "check-in").status_code == 200
    other = driver_for().reserve(lot.id, T0 + 4 * H, T0 + 5 * H).get_json()
    clock.move_to(T0 + 4 * H + 20 * M)
    shown = driver.client.get(f"{API}/reservations/{other['id']}", headers=driver.headers)
    assert shown.status_code == 404  # another driver's
    owner = db.session.get(Reservation, other["id"])
    assert owner.status == "confirmed"  # not yet written down...
    assert run_job("expire-reservations") == {"no_shows": 1}
    assert run_job("expire-reservations") == {"no_shows": 0}
    db.session.refresh(owner)
    assert owner.status == "no_show"


def test_lapsed_reservation_reads_as_no_show_and_frees_its_spot(clock, db, driver_for):
    lot = LotFactory(spots=1)
    driver, walkin = driver_for(), driver_for()
    reservation = driver.reserve(lot.id, T0 + H, T0 + 3 * H).get_json()
    clock.move_to(T0 + H + 20 * M)
    shown = driver.client.get(f"{API}/reservations/{reservation['id']}", headers=driver.headers)
    assert shown.get_json()["status"] == "no_show"
    listed = driver.client.get(f"{API}/reservations?status=no_show", headers=driver.headers)
    assert [item["id"] for item in listed.get_json()["items"]] == [reservation["id"]]
    assert code(driver.act(reservation["id"], "check-in")) == (409, "invalid_transition")
    assert walkin.book(lot.id).status_code == 201


def test_walk_ins_keep_off_spots_reserved_soon(clock, db, driver_for):
    lot = LotFactory(spots=3)
    booker = driver_for()
    soon = booker.reserve(lot.id, T0 + 2 * H, T0 + 3 * H).get_json()  # spot 1, within horizon
    assert soon["spot"]["number"] == 1
    walkin = driver_for().book(lot.id).get_json()
    assert walkin["spot"]["number"] == 2  # the lowest spot clear of reservations
    other = driver_for().book(lot.id).get_json()
    assert other["spot"]["number"] == 3
    # Only spot 1 is left: its reservation starts in 2 h, beyond the 45-minute lead, so a
    # walk-in may take it (it is told to leave in time, or the reservation moves).
    third = driver_for().book(lot.id)
    assert third.status_code == 201 and third.get_json()["spot"]["number"] == 1
    assert invariant_violations(db.session.connection(), T0) == []


def test_a_walk_in_cannot_take_a_spot_reserved_within_the_lead(clock, db, driver_for):
    lot = LotFactory(spots=1)
    driver_for().reserve(lot.id, T0 + 30 * M, T0 + 2 * H)
    assert code(driver_for().book(lot.id)) == (409, "lot_full")


def test_overstay_moves_the_reservation_or_tells_the_driver_before_arrival(
    clock, db, driver_for, run_job
):
    lot = LotFactory(spots=2)
    holder, walkin, other = driver_for(), driver_for(), driver_for()
    reservation = holder.reserve(lot.id, T0 + 3 * H, T0 + 4 * H).get_json()
    assert reservation["spot"]["number"] == 1
    assert walkin.book(lot.id).get_json()["spot"]["number"] == 2
    stay = other.book(lot.id).get_json()  # spot 1: its reservation is 3 h away
    assert stay["spot"]["number"] == 1
    # One hour before: the walk-in on spot 1 is warned; spot 2 is still taken.
    clock.move_to(T0 + 2 * H)
    assert run_job("reservation-reminders")["walk_ins"] == 1
    assert kinds_of(db, other.user) == ["booking_spot_reserved"]
    # 45 minutes before, nobody has left: the reservation loses its spot, the driver is told.
    clock.move_to(T0 + 3 * H - 45 * M + M)
    assert run_job("rehome-reservations") == {"checked": 1, "moved": 0, "without_spot": 1}
    assert "reservation_spot_unavailable" in kinds_of(db, holder.user)
    assert invariant_violations(db.session.connection(), T0 + 3 * H) == []
    refused = holder.act(reservation["id"], "check-in")
    assert code(refused) == (409, "check_in_not_open")
    clock.move_to(T0 + 3 * H)
    refused = holder.act(reservation["id"], "check-in")
    assert code(refused) == (409, "reserved_spot_unavailable")
    assert "No spot" in refused.get_json()["error"]["message"]
    # The walk-in on spot 2 leaves: the next run gives the reservation that spot.
    walkin_id = walkin.client.get(f"{API}/bookings/active", headers=walkin.headers).get_json()
    assert walkin.release_booking(walkin_id["id"]).status_code == 200
    assert run_job("rehome-reservations")["moved"] == 1
    checked = holder.act(reservation["id"], "check-in").get_json()
    assert checked["status"] == "checked_in" and checked["spot"]["number"] == 2
    assert invariant_violations(db.session.connection(), T0 + 3 * H) == []


def test_reminders_start_no_show_and_end_once_each(clock, db, lot, driver_for, run_job):
    driver = driver_for()
    late = driver_for()
    mine = driver.reserve(lot.id, T0 + H, T0 + 2 * H).get_json()
    late.reserve(lot.id, T0 + H, T0 + 2 * H)
    clock.move_to(T0 + 30 * M)
    first = run_job("reservation-reminders")
    assert first["starts_soon"] == 2
    assert run_job("reservation-reminders")["starts_soon"] == 0
    clock.move_to(T0 + H)
    driver.act(mine["id"], "check-in")
    clock.move_to(T0 + H + 10 * M)
    assert run_job("reservation-reminders")["no_show_soon"] == 1  # only the one not in
    clock.move_to(T0 + 2 * H - 15 * M)
    assert run_job("reservation-reminders")["ends_soon"] == 1
    assert kinds_of(db, driver.user) == ["reservation_starts_soon", "reservation_ends_soon"]
    assert kinds_of(db, late.user) == ["reservation_starts_soon", "reservation_no_show_soon"]


def test_admin_lists_reservations_by_lot_and_status(clock, db, lot, driver_for, auth, admin):
    driver = driver_for()
    kept = driver.reserve(lot.id, T0 + H, T0 + 2 * H).get_json()
    other_lot = LotFactory(spots=1)
    driver_for().reserve(other_lot.id, T0 + H, T0 + 2 * H)
    page = driver.client.get(
        f"{API}/admin/reservations?lot_id={lot.id}&status=confirmed", headers=auth(admin)
    ).get_json()
    assert [(item["id"], item["username"]) for item in page["items"]] == [
        (kept["id"], driver.user.username)
    ]
    forbidden = driver.client.get(f"{API}/admin/reservations", headers=driver.headers)
    assert forbidden.status_code == 403


def test_reservation_price_equals_the_booking_price_of_the_same_stay(clock, db, driver_for):
    lot = LotFactory(
        spots=2,
        hourly_rate_cents=275,
        billing_increment_minutes=15,
        free_minutes=10,
        daily_max_cents=2400,
    )
    rule = PriceRule(275, 15, 10, 2400)
    driver = driver_for()
    reservation = driver.reserve(lot.id, T0 + H, T0 + 27 * H + 7 * M).get_json()
    seconds = (26 * H + 7 * M).total_seconds()
    assert reservation["amount_cents"] == compute_cost_cents(rule, seconds)
    clock.move_to(T0 + H)
    driver.act(reservation["id"], "check-in")
    clock.move_to(T0 + 27 * H + 7 * M)
    released = driver.act(reservation["id"], "release").get_json()
    walkin = driver_for()
    clock.move_to(T0 + 28 * H)
    booking = walkin.book(lot.id).get_json()
    clock.move_to(T0 + 28 * H + 26 * H + 7 * M)
    assert walkin.release_booking(booking["id"]).get_json()["cost_cents"] == released["cost_cents"]
    assert released["cost_cents"] == reservation["amount_cents"]


def test_a_lot_with_reservations_to_honour_is_not_deleted_or_shrunk_under_them(
    clock, db, driver_for, auth, admin
):
    lot = LotFactory(spots=3)
    driver = driver_for()
    driver.reserve(lot.id, T0 + H, T0 + 2 * H)
    driver_for().reserve(lot.id, T0 + H, T0 + 2 * H)
    headers = auth(admin)
    deleted = driver.client.delete(f"{API}/admin/lots/{lot.id}", headers=headers)
    assert code(deleted) == (409, "lot_in_use")
    shrunk = driver.client.patch(
        f"{API}/admin/lots/{lot.id}", json={"total_spots": 1}, headers=headers
    )
    assert code(shrunk) == (409, "lot_in_use")  # spot 2 is reserved
    assert (
        driver.client.patch(
            f"{API}/admin/lots/{lot.id}", json={"total_spots": 2}, headers=headers
        ).status_code
        == 200
    )


def test_a_driver_whose_spot_is_blocked_gets_an_email_before_arriving(
    clock, db, driver_for, run_job, smtp, mailing
):
    lot = LotFactory(spots=1, name="Quay Garage", timezone="Europe/Berlin")
    holder = driver_for()
    reservation = holder.reserve(lot.id, T0 + 3 * H, T0 + 4 * H).get_json()
    assert driver_for().book(lot.id).status_code == 201  # 3 h ahead: the walk-in may stay
    clock.move_to(T0 + 3 * H - 44 * M)
    assert run_job("rehome-reservations")["without_spot"] == 1
    assert run_job("rehome-reservations")["without_spot"] == 1  # told once, not twice
    [message] = smtp.wait_for(1, timeout=5)
    assert message["To"] == holder.user.email
    assert "Your reserved spot is not free" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "Quay Garage" in text and "12:00 CET" in text  # 11:00 UTC in Berlin
    shown = holder.client.get(f"{API}/reservations/{reservation['id']}", headers=holder.headers)
    assert shown.get_json()["spot"] is None
