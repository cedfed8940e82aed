"""Which spot serves a commitment: walk-ins and reservations share a lot without colliding.

A *commitment* is an active booking (a car in a spot now, open-ended; a checked-in reservation
is one) or a *holding* reservation (confirmed and not lapsed, or checked in) for its interval.
The rule these functions keep: at no instant is a spot held by two commitments.

- A reservation takes a spot with no holding reservation overlapping its interval; a spot with a
  car in it only when the interval starts at least ``RESERVATION_EARLY_MINUTES`` from now (the
  car has time to leave, and the reservation is moved before it starts if it does not).
- A walk-in takes a free spot with no holding reservation starting within that lead; it prefers
  the lowest-numbered spot with no reservation within ``WALKIN_HORIZON_HOURS``, else the spot
  whose next reservation is furthest away.

Every choice is confirmed after the spot's row lock is taken, by a fresh statement (READ
COMMITTED sees what the previous holder of the lock committed): every writer of a commitment
on a spot holds that spot's lock, so check-then-write is serialised per spot. On SQLite the
write transaction's lock serialises everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache as memoize
from typing import Any

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
    true,
)

from app.bookings.models import Booking
from app.lots.features import mask_of
from app.lots.models import Spot
from app.platform.extensions import db
from app.reservations.models import Reservation

# Candidates examined per allocation before giving up (each is re-checked under its lock).
MAX_CANDIDATES = 50


@dataclass(frozen=True)
class Wanted:
    """What a commitment asks of its spot: all of ``mask``'s features, and ``level`` if set."""

    mask: int = 0
    level: int | None = None


def lead() -> timedelta:
    """How long before its start a reservation's spot must be free of other cars: before
    check-in opens, so a driver whose spot is blocked is told before arriving."""
    config = current_app.config
    return timedelta(
        minutes=max(config["RESERVATION_SETTLE_MINUTES"], config["RESERVATION_EARLY_MINUTES"])
    )


def grace() -> timedelta:
    """How long after its start an unclaimed reservation still holds its spot."""
    return timedelta(minutes=current_app.config["RESERVATION_GRACE_MINUTES"])


def holding(now: datetime, table=Reservation) -> ColumnElement[bool]:
    """Reservations that hold their spot: checked in, or confirmed and not lapsed."""
    return or_(
        table.status == "checked_in",
        and_(table.status == "confirmed", table.start_at > now - grace()),
    )


def overlapping(
    now: datetime, start: datetime, end: datetime, *, exclude_id: int | None = None
) -> ColumnElement[bool]:
    """A holding reservation on the outer spot overlapping ``[start, end)``."""
    cond = and_(
        Reservation.spot_id == Spot.id,
        holding(now),
        Reservation.start_at < end,
        Reservation.end_at > start,
    )
    if exclude_id is not None:
        cond = and_(cond, Reservation.id != exclude_id)
    return exists().where(cond)


def _holding_bound() -> ColumnElement[bool]:
    # ``holding`` with the lapse time bound and the statuses written in, for statements built
    # once; on the table's columns, so they run as Core statements (no ORM compile step).
    reservations = Reservation.__table__.c
    return or_(
        reservations.status == literal_column("'checked_in'"),
        and_(
            reservations.status == literal_column("'confirmed'"),
            reservations.start_at > bindparam("lapse"),
        ),
    )


def _clashing(spot_id: ColumnElement) -> list[ColumnElement[bool]]:
    """A holding reservation of ``spot_id`` overlapping ``[:start, :end)``."""
    reservations = Reservation.__table__.c
    return [
        reservations.spot_id == spot_id,
        _holding_bound(),
        reservations.start_at < bindparam("end"),
        reservations.end_at > bindparam("start"),
    ]


@memoize
def _clash_statement(with_exclude: bool) -> Select:
    """The first holding reservation of ``:spot_id`` overlapping ``[:start, :end)`` (built once:
    this re-check runs on every booking)."""
    reservations = Reservation.__table__.c
    conds = _clashing(bindparam("spot_id"))
    if with_exclude:
        conds.append(reservations.id != bindparam("exclude_id"))
    return select(reservations.id).where(*conds).limit(1)


@memoize
def _clear_walkin_statement(with_mask: bool, with_level: bool) -> Select:
    """The lowest free spot of ``:lot_id`` nobody reserved within ``[:start, :end)``, locked
    with SKIP LOCKED (built once: the common walk-in)."""
    spots = Spot.__table__.c
    conds = [
        spots.lot_id == bindparam("lot_id"),
        spots.status == literal_column("'available'"),
        spots.is_occupied.is_(False),
        ~exists().where(*_clashing(spots.id)),
    ]
    if with_mask:
        conds.append(spots.feature_mask.op("&")(bindparam("mask")) == bindparam("mask"))
    if with_level:
        conds.append(spots.level == bindparam("level"))
    # The columns a booking and spot_serves read, as a row: no Spot object for the common case.
    columns = (
        spots.id,
        spots.number,
        spots.level,
        spots.status,
        spots.feature_mask,
        spots.is_occupied,
    )
    return (
        select(*columns)
        .where(*conds)
        .order_by(spots.number)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def empty_by(start: datetime, now: datetime) -> ColumnElement[bool]:
    """The outer spot is empty, or its car is a checked-in reservation due to leave at least
    ``RESERVATION_TURNOVER_MINUTES`` before ``start`` (and not overstaying yet): a walk-in's
    stay is open-ended, so it never is. The turnover means an overstay is noticed, and the
    next driver told, before that driver's start."""
    turnover = timedelta(minutes=current_app.config["RESERVATION_TURNOVER_MINUTES"])
    leaving = (
        select(Booking.id)
        .join(Reservation, Reservation.id == Booking.reservation_id)
        .where(
            Booking.active_spot_id == Spot.id,
            Reservation.end_at <= start - turnover,
            Reservation.end_at > now,
        )
        .exists()
    )
    return or_(Spot.is_occupied.is_(False), leaving)


def _matching(lot_id: int, wanted: Wanted) -> list[ColumnElement[bool]]:
    conds = [Spot.lot_id == lot_id, Spot.status == "available"]
    if wanted.mask:
        conds.append(Spot.feature_mask.op("&")(wanted.mask) == wanted.mask)
    if wanted.level is not None:
        conds.append(Spot.level == wanted.level)
    return conds


def _lock(spot_id: int) -> Spot:
    return db.session.scalar(select(Spot).where(Spot.id == spot_id).with_for_update())


def spot_serves(
    spot: Spot,
    *,
    wanted: Wanted,
    now: datetime,
    start: datetime,
    end: datetime,
    exclude_id: int | None = None,
    occupied_ok: bool = False,
) -> bool:
    """Whether the (locked) ``spot`` can hold ``[start, end)``: read afresh, not from a plan."""
    if spot.status != "available" or (spot.feature_mask & wanted.mask) != wanted.mask:
        return False
    if wanted.level is not None and spot.level != wanted.level:
        return False
    if spot.is_occupied and not occupied_ok:
        empty = db.session.scalar(select(Spot.id).where(Spot.id == spot.id, empty_by(start, now)))
        if empty is None:
            return False
    params = {"spot_id": spot.id, "lapse": now - grace(), "start": start, "end": end}
    if exclude_id is not None:
        params["exclude_id"] = exclude_id
    clash = db.session.scalar(_clash_statement(exclude_id is not None), params)
    return clash is None


def spot_for_interval(
    *,
    lot_id: int,
    wanted: Wanted,
    start: datetime,
    end: datetime,
    now: datetime,
    exclude_id: int | None = None,
    lock: bool = True,
) -> Spot | None:
    """The lowest-numbered spot that can hold ``[start, end)`` (locked, unless ``lock`` is
    False: a quote), or None."""
    occupied_ok = start >= now + lead()
    conds = _matching(lot_id, wanted)
    if not occupied_ok:
        conds.append(empty_by(start, now))
    candidates = db.session.scalars(
        select(Spot.id)
        .where(*conds, ~overlapping(now, start, end, exclude_id=exclude_id))
        .order_by(Spot.number)
        .limit(MAX_CANDIDATES if lock else 1)
    ).all()
    if not lock:
        return db.session.get(Spot, candidates[0]) if candidates else None
    # Ascending order: two allocations never wait on each other's spots in a cycle.
    for spot_id in candidates:
        spot = _lock(spot_id)
        if spot_serves(
            spot,
            wanted=wanted,
            now=now,
            start=start,
            end=end,
            exclude_id=exclude_id,
            occupied_ok=occupied_ok,
        ):
            return spot
    return None


def _next_start(now: datetime):
    return (
        select(func.min(Reservation.start_at))
        .where(Reservation.spot_id == Spot.id, holding(now), Reservation.end_at > now)
        .correlate(Spot)
        .scalar_subquery()
    )


@memoize
def _occupy_statement(unless_reserved: bool) -> Any:
    """Mark ``:spot_id`` occupied; with ``unless_reserved``, only if no holding reservation of
    it overlaps ``[:start, :end)`` (built once: every walk-in runs it)."""
    spots = Spot.__table__
    conds = [spots.c.id == bindparam("spot_id")]
    if unless_reserved:
        conds.append(~exists().where(*_clashing(spots.c.id)))
    return spots.update().where(*conds).values(is_occupied=true())


def take_walkin_spot(*, lot_id: int, wanted: Wanted, now: datetime) -> Any:
    """A free spot for an open-ended stay starting now, locked (SKIP LOCKED) and marked
    occupied, or None: a row of its columns in the common case, else a ``Spot`` (both have
    ``id``, ``number``, ``level``)."""
    horizon = now + timedelta(hours=current_app.config["WALKIN_HORIZON_HOURS"])
    # The common case: a spot nobody reserved within the horizon, lowest number first.
    params = {"lot_id": lot_id, "lapse": now - grace(), "start": now, "end": horizon}
    if wanted.mask:
        params["mask"] = wanted.mask
    if wanted.level is not None:
        params["level"] = wanted.level
    statement = _clear_walkin_statement(bool(wanted.mask), wanted.level is not None)
    clear = db.session.execute(statement, params).first()
    if clear is not None:
        # The re-check under the row lock is the UPDATE's own condition: a fresh statement, it
        # sees any reservation committed since the query read (no read of its own).
        # Only its own parameters: an UPDATE would set any other key naming a spots column.
        recheck = {"spot_id": clear.id, "lapse": params["lapse"], "start": now, "end": horizon}
        if db.session.execute(_occupy_statement(True), recheck).rowcount == 1:
            return clear
    spot = _furthest_reserved_spot(lot_id=lot_id, wanted=wanted, now=now)
    if spot is not None:
        db.session.execute(_occupy_statement(False), {"spot_id": spot.id})
    return spot


def _furthest_reserved_spot(*, lot_id: int, wanted: Wanted, now: datetime) -> Spot | None:
    """The free spot whose next reservation is furthest away, if it is beyond the lead
    (locked), or None."""
    soon = now + lead()
    free = [*_matching(lot_id, wanted), Spot.is_occupied.is_(False)]
    next_start = _next_start(now)
    candidates = db.session.scalars(
        select(Spot.id)
        .where(*free, ~overlapping(now, now, soon))
        .order_by(next_start.desc(), Spot.number)
        .limit(MAX_CANDIDATES)
    ).all()
    busy = []
    for spot_id in candidates:
        spot = db.session.scalar(
            select(Spot).where(Spot.id == spot_id).with_for_update(skip_locked=True)
        )
        if spot is None:
            busy.append(spot_id)  # another writer holds it: it may still be free afterwards
        elif spot_serves(spot, wanted=wanted, now=now, start=now, end=soon):
            return spot
    # Every free-looking spot was locked by a concurrent writer (a reservation re-checking it):
    # wait for each in turn rather than answer lot_full while a spot may stay free. A deadlock
    # with that writer is retried by the transaction edge.
    for spot_id in busy:
        spot = _lock(spot_id)
        if spot is not None and spot_serves(spot, wanted=wanted, now=now, start=now, end=soon):
            return spot
    return None


def walkin_spot_exists(*, lot_id: int, now: datetime) -> bool:
    """Whether any walk-in could be served now, whatever it asks (tells lot_full apart)."""
    soon = now + lead()
    return (
        db.session.scalar(
            select(Spot.id)
            .where(*_matching(lot_id, Wanted()), Spot.is_occupied.is_(False))
            .where(~overlapping(now, now, soon))
            .limit(1)
        )
        is not None
    )


def preferred(preferences: dict | None) -> Wanted | None:
    """The driver's ``preferences.parking`` as a wish, or None when they have none."""
    parking = (preferences or {}).get("parking") or {}
    mask = mask_of(parking.get("features"))
    level = parking.get("level")
    if not mask and level is None:
        return None
    return Wanted(mask, level)


def spot_for_rest(reservation: Reservation, now: datetime, *, arriving: bool) -> Spot | None:
    """The reserved spot if it can serve the rest of the reservation, else the lowest-numbered
    other matching spot that can (locked), else None. ``arriving``: the car is here now, so the
    spot must be empty and free of other reservations from now on (an early check-in too)."""
    start = now if arriving else max(now, reservation.start_at)
    wanted = Wanted(reservation.feature_mask, reservation.level)
    if reservation.spot_id is not None:
        spot = db.session.scalar(
            select(Spot).where(Spot.id == reservation.spot_id).with_for_update()
        )
        if spot_serves(
            spot,
            wanted=wanted,
            now=now,
            start=start,
            end=reservation.end_at,
            exclude_id=reservation.id,
            occupied_ok=start >= now + lead(),
        ):
            return spot
    return spot_for_interval(
        lot_id=reservation.lot_id,
        wanted=wanted,
        start=start,
        end=reservation.end_at,
        now=now,
        exclude_id=reservation.id,
    )
