"""Property: a reservation costs what the same stay costs as a walk-in booking, under any lot
rule: quoted, billed on release, and the booking's price all agree."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.bookings import service as bookings
from app.bookings.pricing import PriceRule, compute_cost_cents
from app.reservations import service as reservations
from tests.factories import LotFactory, UserFactory
from tests.reservations.conftest import T0


def _json(view) -> bytes:
    return b"{}"


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    rate=st.integers(min_value=0, max_value=5000),
    increment=st.sampled_from([1, 5, 15, 30, 60]),
    free=st.integers(min_value=0, max_value=120),
    daily_max=st.one_of(st.none(), st.integers(min_value=0, max_value=20_000)),
    minutes=st.integers(min_value=60, max_value=3 * 24 * 60),
    seconds=st.integers(min_value=0, max_value=59),
)
def test_a_reservation_costs_what_the_same_booking_costs(
    db, rate, increment, free, daily_max, minutes, seconds
):
    lot = LotFactory(
        spots=2,
        hourly_rate_cents=rate,
        billing_increment_minutes=increment,
        free_minutes=free,
        daily_max_cents=daily_max,
    )
    driver, walker = UserFactory(), UserFactory()
    stay = timedelta(minutes=minutes, seconds=seconds)
    start = T0 + timedelta(hours=1)
    expected = compute_cost_cents(PriceRule(rate, increment, free, daily_max), stay.total_seconds())
    with time_machine.travel(T0, tick=False) as clock:
        made = reservations.create_reservation(
            user_id=driver.id,
            lot_id=lot.id,
            start_at=start,
            end_at=start + stay,
            vehicle_number="PROP1",
            render=_json,
        )
        quoted = reservations.quote(lot_id=lot.id, start_at=start, end_at=start + stay)
        clock.move_to(start)
        reservations.check_in(user_id=driver.id, reservation_id=made.reservation_id)
        walk = bookings.create_booking(
            user_id=walker.id, lot_id=lot.id, vehicle_number="PROP2", render=_json
        )
        clock.move_to(start + stay)
        billed = reservations.release(user_id=driver.id, reservation_id=made.reservation_id)
        booked = bookings.release_booking(user_id=walker.id, booking_id=walk.booking_id)
    assert quoted["amount_cents"] == expected
    assert billed["amount_cents"] == billed["cost_cents"] == expected
    assert booked["cost_cents"] == expected
