"""A seeded, repeatable day in one lot: reservations, walk-ins, arrivals, overstays,
cancellations, no-shows and spots going out of service, with the upkeep jobs running as beat
would. After every step: no spot is held by two commitments (checked in SQL). Every driver who
arrives on time for a confirmed reservation gets a spot, unless no spot that matches can be
had (the lot is full of overstays) and then the driver had been told before arriving.

The simulation calls the services the views call, each action in a savepoint that a refusal
rolls back (as the request edge does); concurrency is proven separately through gunicorn.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.bookings import service as bookings
from app.bookings.models import Booking
from app.lots import management
from app.lots.models import Spot
from app.platform.errors import AppError
from app.platform.extensions import db
from app.platform.models import OutboxMessage
from app.reservations import allocation, jobs
from app.reservations import service as reservations
from app.reservations.models import Reservation
from tests.factories import LotFactory, UserFactory
from tests.reservations.conftest import T0, invariant_violations

M = timedelta(minutes=1)
FEATURES = ([], [], [], ["accessible"], ["ev_charging"])


@dataclass
class Plan:
    """A reservation and how its driver will behave."""

    reservation_id: int
    user_id: int
    start: datetime
    end: datetime
    arrive_at: datetime | None  # None: never comes (a no-show)
    leave_at: datetime
    booked: bool = False


@dataclass
class Day:
    rng: random.Random
    lot_id: int
    reservers: list[int]
    walkers: list[int]
    plans: list[Plan] = field(default_factory=list)
    walkins: dict[int, datetime] = field(default_factory=dict)  # booking id -> leaves at
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, name: str) -> None:
        self.outcomes[name] = self.outcomes.get(name, 0) + 1


def attempt(day: Day, name: str, action):
    """Run ``action`` in a savepoint; a refusal rolls it back and is counted by its code."""
    try:
        with db.session.begin_nested():
            result = action()
    except AppError as error:
        assert error.status in (404, 409, 422), (name, error.status, error.message)
        day.count(f"{name}:{error.code}")
        return None
    day.count(f"{name}:ok")
    return result


def reserve(day: Day, now: datetime) -> None:
    rng = day.rng
    start = now + rng.randint(10, 8 * 60) * M
    end = start + rng.randint(60, 240) * M
    user_id = rng.choice(day.reservers)
    outcome = attempt(
        day,
        "reserve",
        lambda: reservations.create_reservation(
            user_id=user_id,
            lot_id=day.lot_id,
            start_at=start,
            end_at=end,
            vehicle_number=f"SIM{user_id}",
            features=rng.choice(FEATURES),
            render=lambda view: b"{}",
        ),
    )
    if outcome is None:
        return
    arrive = None if rng.random() < 0.12 else start + rng.randint(0, 15) * M
    leave = end + rng.randint(-30, 90) * M
    day.plans.append(Plan(outcome.reservation_id, user_id, start, end, arrive, leave))


def walk_in(day: Day, now: datetime) -> None:
    user_id = day.rng.choice(day.walkers)
    outcome = attempt(
        day,
        "walk_in",
        lambda: bookings.create_booking(
            user_id=user_id,
            lot_id=day.lot_id,
            vehicle_number=f"WALK{user_id}",
            features=day.rng.choice(FEATURES),
            render=lambda view: b"{}",
        ),
    )
    if outcome is not None:
        day.walkins[outcome.booking_id] = now + day.rng.randint(20, 6 * 60) * M


def arrive(day: Day, plan: Plan, now: datetime) -> None:
    reservation = db.session.get(Reservation, plan.reservation_id)
    db.session.refresh(reservation)
    if reservation.status != "confirmed":
        return
    # The driver's car from an earlier reservation leaves first (one car per driver).
    earlier = db.session.scalar(select(Booking.id).where(Booking.active_user_id == plan.user_id))
    if earlier is not None:
        attempt(
            day, "leave", lambda: bookings.release_booking(user_id=plan.user_id, booking_id=earlier)
        )
    checked = attempt(
        day,
        "check_in",
        lambda: reservations.check_in(user_id=plan.user_id, reservation_id=plan.reservation_id),
    )
    if checked is not None:
        plan.booked = True
        return
    db.session.refresh(reservation)
    # Refused on time: only when no matching spot can be had, and the driver was told already.
    wanted = allocation.Wanted(reservation.feature_mask, reservation.level)
    free = allocation.spot_for_interval(
        lot_id=day.lot_id, wanted=wanted, start=now, end=reservation.end_at, now=now, lock=False
    )
    assert free is None, f"reservation {reservation.id} refused while spot {free.id} was free"
    assert reservation.spot_lost_notified_at is not None
    assert reservation.spot_lost_notified_at < now, "the driver was not told before arriving"
    promised = db.session.scalars(
        select(OutboxMessage.args).where(OutboxMessage.task == "reservations.notify")
    ).all()
    assert ["spot_unavailable", reservation.id] in [list(args) for args in promised]


def step(day: Day, now: datetime) -> None:
    rng = day.rng
    for plan in day.plans:
        if plan.arrive_at is not None and not plan.booked and plan.arrive_at <= now:
            if now < plan.start + timedelta(minutes=20):
                arrive(day, plan, now)
            plan.arrive_at = None
        if plan.booked and plan.leave_at <= now:
            attempt(
                day,
                "release",
                lambda p=plan: reservations.release(
                    user_id=p.user_id, reservation_id=p.reservation_id
                ),
            )
            plan.booked = False
            plan.leave_at = datetime.max.replace(tzinfo=now.tzinfo)
    for booking_id, leaves in list(day.walkins.items()):
        if leaves <= now:
            user_id = db.session.get(Booking, booking_id).user_id
            attempt(
                day,
                "walk_out",
                lambda b=booking_id, u=user_id: bookings.release_booking(user_id=u, booking_id=b),
            )
            del day.walkins[booking_id]
    roll = rng.random()
    if roll < 0.45:
        reserve(day, now)
    elif roll < 0.80:
        walk_in(day, now)
    elif roll < 0.88 and day.plans:
        plan = rng.choice(day.plans)
        attempt(
            day,
            "cancel",
            lambda: reservations.cancel(user_id=plan.user_id, reservation_id=plan.reservation_id),
        )
    elif roll < 0.90:
        spot_id = rng.choice(
            db.session.scalars(select(Spot.id).where(Spot.lot_id == day.lot_id)).all()
        )
        status = rng.choice(["available", "available", "out_of_service"])
        attempt(
            day, "spot", lambda: management.update_spot(spot_id=spot_id, changes={"status": status})
        )


def run_jobs(day: Day) -> None:
    for run in (jobs.expire_reservations, jobs.rehome_reservations):
        with db.session.begin_nested():
            run()


@pytest.mark.parametrize("seed", [7])
def test_a_day_of_arrivals_reservations_and_overstays_keeps_every_promise(db, backend, seed):
    steps = 2500 if backend == "sqlite" else 2000
    rng = random.Random(seed)
    lot = LotFactory(spots=8, hourly_rate_cents=200, cancellation_fee_cents=100)
    for number, names in ((2, 1), (5, 1), (7, 2)):  # accessible, accessible, ev_charging
        db.session.execute(
            Spot.__table__.update()
            .where(Spot.lot_id == lot.id, Spot.number == number)
            .values(feature_mask=names)
        )
    day = Day(
        rng,
        lot.id,
        reservers=[UserFactory().id for _ in range(25)],
        walkers=[UserFactory().id for _ in range(25)],
    )
    with time_machine.travel(T0, tick=False) as clock:
        now = T0
        for _ in range(steps):
            now += rng.randint(1, 4) * M
            clock.move_to(now)
            run_jobs(day)
            step(day, now)
            assert invariant_violations(db.session.connection(), now) == [], (now, day.outcomes)
    # The day exercised every path, refusals included.
    for name in ("reserve:ok", "walk_in:ok", "check_in:ok", "release:ok", "cancel:ok"):
        assert day.outcomes.get(name, 0) > 0, (name, day.outcomes)
    assert day.outcomes.get("reserve:lot_full", 0) + day.outcomes.get("walk_in:lot_full", 0) > 0
