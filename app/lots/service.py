"""Parking lots: the driver's list and detail, and the admin's lot and spot management."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from functools import cache as memoize
from typing import Any

from flask import current_app
from sqlalchemy import Select, bindparam, case, func, or_, select
from sqlalchemy.orm import aliased

from app.accounts.models import User
from app.bookings.models import Booking
from app.lots.models import Lot, Spot
from app.parking.geo import bounding_box, haversine_m
from app.platform import cache
from app.platform.errors import Conflict, NotFound, ValidationFailed
from app.platform.extensions import db
from app.platform.models import utcnow
from app.platform.pagination import paginate
from app.platform.schemas import MAX_ID

log = logging.getLogger(__name__)

DEFAULT_RADIUS_KM = 10.0


class LotInUse(Conflict):
    code = "lot_in_use"
    message = "Spots of this lot are occupied; release them first."


def lot_not_found() -> NotFound:
    return NotFound("No such parking lot.", code="lot_not_found")


def _count_columns(spots: Any) -> list:
    """Per lot: total (not removed), free, occupied, out of service."""
    live = spots.c.status != "removed"
    return [
        func.sum(case((live, 1), else_=0)).label("total"),
        func.sum(
            case(((spots.c.status == "available") & spots.c.is_occupied.is_(False), 1), else_=0)
        ).label("free"),
        func.sum(case((live & spots.c.is_occupied.is_(True), 1), else_=0)).label("occupied"),
        func.sum(case((spots.c.status == "out_of_service", 1), else_=0)).label("out_of_service"),
    ]


def _spot_counts():
    """One grouped subquery: per lot, total (not removed), free, occupied, out of service."""
    spots = Spot.__table__
    return select(spots.c.lot_id, *_count_columns(spots)).group_by(spots.c.lot_id).subquery()


@memoize
def _lots_with_counts() -> tuple[Select, Any]:
    """Lots that are not deleted, with their counts (built once; callers add filters)."""
    counts = _spot_counts()
    stmt = (
        select(
            Lot,
            func.coalesce(counts.c.free, 0).label("free"),
            func.coalesce(counts.c.total, 0).label("total"),
            func.coalesce(counts.c.occupied, 0).label("occupied"),
            func.coalesce(counts.c.out_of_service, 0).label("out_of_service"),
        )
        .outerjoin(counts, counts.c.lot_id == Lot.id)
        .where(Lot.deleted_at.is_(None))
    )
    return stmt, counts


DRIVER_COLUMNS = (
    "id",
    "name",
    "address",
    "pin_code",
    "latitude",
    "longitude",
    "levels",
    "hourly_rate_cents",
    "billing_increment_minutes",
    "free_minutes",
    "daily_max_cents",
)


@memoize
def _lot_detail(driver: bool = False) -> Select:
    """One lot with its counts, counting only that lot's spots (``:lot_id``).

    ``driver``: only what a driver sees (no timestamps, free and total counts only)."""
    lots, spots = Lot.__table__, Spot.__table__
    names = ("free", "total") if driver else ("free", "total", "occupied", "out_of_service")
    counts = (
        select(spots.c.lot_id, *[c for c in _count_columns(spots) if c.name in names])
        .where(spots.c.lot_id == bindparam("lot_id"))
        .group_by(spots.c.lot_id)
        .subquery()
    )
    columns = [lots.c[name] for name in DRIVER_COLUMNS] if driver else [lots]
    return (
        select(*columns, *[func.coalesce(counts.c[name], 0).label(name) for name in names])
        .outerjoin(counts, counts.c.lot_id == lots.c.id)
        .where(lots.c.id == bindparam("lot_id"), lots.c.deleted_at.is_(None))
    )


def pricing_of(lot: Lot) -> dict[str, Any]:
    """The lot's price rule as the API shows it."""
    return {
        "hourly_rate_cents": lot.hourly_rate_cents,
        "billing_increment_minutes": lot.billing_increment_minutes,
        "free_minutes": lot.free_minutes,
        "daily_max_cents": lot.daily_max_cents,
        "currency": current_app.config["CURRENCY"],
    }


def lot_view(lot: Any, free: int, total: int, occupied: int = 0, out_of_service: int = 0) -> dict:
    """A lot with its counts, as a plain dict (cacheable)."""
    return {
        "id": lot.id,
        "name": lot.name,
        "address": lot.address,
        "pin_code": lot.pin_code,
        "latitude": lot.latitude,
        "longitude": lot.longitude,
        "levels": lot.levels,
        "free_spots": int(free),
        "total_spots": int(total),
        "occupied_spots": int(occupied),
        "out_of_service_spots": int(out_of_service),
        "pricing": pricing_of(lot),
        "created_at": lot.created_at,
        "updated_at": lot.updated_at,
    }


def _search(stmt: Select, q: str) -> Select:
    pattern = f"%{q.strip().lower()}%"
    return stmt.where(
        or_(
            func.lower(Lot.name).like(pattern),
            func.lower(Lot.address).like(pattern),
            Lot.pin_code.like(pattern),
        )
    )


def list_lots(
    *,
    page: int,
    per_page: int,
    q: str | None = None,
    pin_code: str | None = None,
    available: bool | None = None,
    near: tuple[float, float] | None = None,
    radius_km: float | None = None,
    render: Callable[[dict], Any] | None = None,
) -> Any:
    """Lots with free/total counts; by name, or by distance from ``near`` within a radius.

    With ``render``, the rendered page (for example its JSON) is what is cached and returned.
    """
    params = {
        "page": page,
        "per_page": per_page,
        "q": q,
        "pin_code": pin_code,
        "available": available,
        "near": near,
        "radius_km": radius_km,
    }
    if render is None:
        return cache.cached(cache.LOTS, params, lambda: _list_lots(**params))
    return cache.cached(
        cache.LOTS, {**params, "rendered": True}, lambda: render(_list_lots(**params))
    )


def _list_lots(*, page, per_page, q, pin_code, available, near, radius_km) -> dict:
    stmt, counts = _lots_with_counts()
    if q:
        stmt = _search(stmt, q)
    if pin_code:
        stmt = stmt.where(Lot.pin_code == pin_code.strip())
    if available:
        stmt = stmt.where(func.coalesce(counts.c.free, 0) > 0)
    if near is None:
        result = paginate(
            stmt.order_by(Lot.name, Lot.id), page=page, per_page=per_page, scalars=False
        )
        result["items"] = [lot_view(*row) for row in result["items"]]
        return result
    lat, lng = near
    radius = radius_km or DEFAULT_RADIUS_KM
    min_lat, max_lat, min_lng, max_lng = bounding_box(lat, lng, radius)
    stmt = stmt.where(
        Lot.latitude.is_not(None),
        Lot.latitude.between(min_lat, max_lat),
        Lot.longitude.between(min_lng, max_lng),
    )
    nearby = []
    for row in db.session.execute(stmt):
        distance = haversine_m(lat, lng, row[0].latitude, row[0].longitude)
        if distance <= radius * 1000:
            view = lot_view(*row)
            view["distance_m"] = round(distance, 1)
            nearby.append(view)
    nearby.sort(key=lambda item: (item["distance_m"], item["id"]))
    start = (page - 1) * per_page
    return {
        "items": nearby[start : start + per_page],
        "page": page,
        "per_page": per_page,
        "total": len(nearby),
        "pages": math.ceil(len(nearby) / per_page) if nearby else 0,
    }


def get_lot_view(lot_id: int) -> dict:
    """One lot (not deleted) with its counts and pricing, or 404."""
    if lot_id > MAX_ID:
        raise lot_not_found()
    row = db.session.connection().execute(_lot_detail(), {"lot_id": lot_id}).first()
    if row is None:
        raise lot_not_found()
    return lot_view(row, row.free, row.total, row.occupied, row.out_of_service)


def driver_lot_view(lot_id: int) -> dict:
    """One lot (not deleted) as drivers see it: pricing, free and total counts; or 404."""
    if lot_id > MAX_ID:
        raise lot_not_found()
    row = db.session.connection().execute(_lot_detail(True), {"lot_id": lot_id}).first()
    if row is None:
        raise lot_not_found()
    (id_, name, address, pin_code, lat, lng, levels, rate, increment, free_min, daily_max) = row[
        :11
    ]
    return {
        "id": id_,
        "name": name,
        "address": address,
        "pin_code": pin_code,
        "latitude": lat,
        "longitude": lng,
        "levels": levels,
        "free_spots": int(row.free),
        "total_spots": int(row.total),
        "pricing": {
            "hourly_rate_cents": rate,
            "billing_increment_minutes": increment,
            "free_minutes": free_min,
            "daily_max_cents": daily_max,
            "currency": current_app.config["CURRENCY"],
        },
    }


def get_live_lot(lot_id: int, *, lock: bool = False) -> Lot:
    """A lot that is not deleted, or 404."""
    if lot_id > MAX_ID:
        raise lot_not_found()
    stmt = select(Lot).where(Lot.id == lot_id, Lot.deleted_at.is_(None))
    if lock:
        stmt = stmt.with_for_update()
    lot = db.session.scalar(stmt)
    if lot is None:
        raise lot_not_found()
    return lot


# --- administration -------------------------------------------------------------------------


def admin_list_lots(*, page: int, per_page: int, q: str | None = None) -> dict:
    """Admin: every lot that is not deleted, with its counts."""
    stmt, _ = _lots_with_counts()
    if q:
        stmt = _search(stmt, q)
    result = paginate(stmt.order_by(Lot.id), page=page, per_page=per_page, scalars=False)
    result["items"] = [lot_view(*row) for row in result["items"]]
    return result


def _level_for(number: int, total: int, levels: int) -> int:
    # Spots fill levels in blocks: 1..k on level 1, k+1..2k on level 2, ...
    per_level = max(1, math.ceil(total / levels))
    return min(levels, (number - 1) // per_level + 1)


def create_lot(*, total_spots: int, **fields: Any) -> Lot:
    """Admin: create a lot and its spots numbered 1..N (spread over its levels)."""
    lot = Lot(**fields)
    db.session.add(lot)
    db.session.flush()
    levels = lot.levels or 1
    db.session.add_all(
        Spot(
            lot_id=lot.id,
            number=number,
            level=_level_for(number, total_spots, levels),
            status="available",
            is_occupied=False,
        )
        for number in range(1, total_spots + 1)
    )
    db.session.flush()
    cache.invalidate(cache.LOTS, cache.ADMIN_STATS)
    log.info("lot %s created with %s spots", lot.id, total_spots)
    return lot


def _resize(lot: Lot, target: int) -> None:
    spots = list(
        db.session.scalars(
            select(Spot).where(Spot.lot_id == lot.id).order_by(Spot.number).with_for_update()
        )
    )
    live = [spot for spot in spots if spot.status != "removed"]
    if target < len(live):
        doomed = live[target:]
        if any(spot.is_occupied for spot in doomed):
            raise LotInUse("The highest-numbered spots that shrinking would remove are occupied.")
        for spot in doomed:
            spot.status = "removed"
    elif target > len(live):
        missing = target - len(live)
        # Numbers removed earlier come back first, so spot numbers stay compact.
        for spot in [spot for spot in spots if spot.status == "removed"][:missing]:
            spot.status = "available"
            missing -= 1
        highest = max((spot.number for spot in spots), default=0)
        for number in range(highest + 1, highest + 1 + missing):
            db.session.add(
                Spot(
                    lot_id=lot.id,
                    number=number,
                    level=lot.levels,
                    status="available",
                    is_occupied=False,
                )
            )
    db.session.flush()


def update_lot(lot_id: int, changes: dict[str, Any]) -> Lot:
    """Admin: change name, address, pin code, coordinates, price rule; grow or shrink."""
    lot = get_live_lot(lot_id, lock=True)
    target = changes.pop("total_spots", None)
    for name, value in changes.items():
        setattr(lot, name, value)
    if (lot.latitude is None) != (lot.longitude is None):
        raise ValidationFailed(
            "Give both latitude and longitude, or neither.",
            fields={"latitude": ["Give both latitude and longitude, or neither."]},
        )
    if target is not None:
        _resize(lot, target)
    lot.updated_at = utcnow()
    db.session.flush()
    cache.invalidate(cache.LOTS, cache.ADMIN_STATS)
    return lot


def delete_lot(lot_id: int) -> None:
    """Admin: hide a lot; refused while any spot is occupied. Its history stays."""
    lot = get_live_lot(lot_id, lock=True)
    # Locking every spot of the lot makes a booking racing this delete wait (or skip them).
    occupied = any(
        db.session.scalars(select(Spot.is_occupied).where(Spot.lot_id == lot.id).with_for_update())
    )
    if occupied:
        raise LotInUse("This lot has occupied spots; it can be deleted once they are released.")
    lot.deleted_at = utcnow()
    db.session.flush()
    cache.invalidate(cache.LOTS, cache.ADMIN_STATS)
    log.info("lot %s deleted", lot.id)


def list_spots(lot_id: int, *, page: int, per_page: int) -> dict:
    """Admin: the lot's spots with their state and current booking (one query per page)."""
    get_live_lot(lot_id)
    active = aliased(Booking)
    stmt = (
        select(Spot, active, User.username)
        .outerjoin(active, active.active_spot_id == Spot.id)
        .outerjoin(User, User.id == active.user_id)
        .where(Spot.lot_id == lot_id, Spot.status != "removed")
        .order_by(Spot.number)
    )
    result = paginate(stmt, page=page, per_page=per_page, scalars=False)
    result["items"] = [
        spot_view(spot, booking, username) for spot, booking, username in result["items"]
    ]
    return result


def spot_view(spot: Spot, booking: Booking | None, username: str | None) -> dict:
    """A spot as admins see it."""
    status = spot.status
    if status == "available" and spot.is_occupied:
        status = "occupied"
    current = None
    if booking is not None:
        current = {
            "id": booking.id,
            "user_id": booking.user_id,
            "username": username,
            "vehicle_number": booking.vehicle_number,
            "started_at": booking.started_at,
        }
    return {
        "id": spot.id,
        "lot_id": spot.lot_id,
        "number": spot.number,
        "level": spot.level,
        "status": status,
        "is_occupied": spot.is_occupied,
        "current_booking": current,
    }


def set_spot_status(spot_id: int, status: str) -> dict:
    """Admin: take a spot out of service or back (a car already there stays until release)."""
    spot = None
    if spot_id <= MAX_ID:
        spot = db.session.scalar(
            select(Spot)
            .join(Lot, Lot.id == Spot.lot_id)
            .where(Spot.id == spot_id, Spot.status != "removed", Lot.deleted_at.is_(None))
            .with_for_update()
        )
    if spot is None:
        raise NotFound("No such spot.", code="spot_not_found")
    spot.status = status
    db.session.flush()
    cache.invalidate(cache.LOTS, cache.ADMIN_STATS)
    row = db.session.execute(
        select(Booking, User.username)
        .join(User, User.id == Booking.user_id)
        .where(Booking.active_spot_id == spot.id)
    ).first()
    return spot_view(spot, *(row or (None, None)))


DEMO_LOTS = (
    {
        "name": "Central Station Garage",
        "address": "1 Station Road",
        "pin_code": "560001",
        "latitude": 12.9767,
        "longitude": 77.5713,
        "levels": 2,
        "hourly_rate_cents": 250,
        "billing_increment_minutes": 60,
        "free_minutes": 15,
        "daily_max_cents": 2000,
        "total_spots": 40,
    },
    {
        "name": "Riverside Open Lot",
        "address": "22 River Walk",
        "pin_code": "560025",
        "latitude": 12.9719,
        "longitude": 77.6412,
        "levels": 1,
        "hourly_rate_cents": 150,
        "billing_increment_minutes": 15,
        "free_minutes": 0,
        "daily_max_cents": 1200,
        "total_spots": 25,
    },
    {
        "name": "Market Square Parking",
        "address": "5 Market Square",
        "pin_code": "560002",
        "latitude": 12.9634,
        "longitude": 77.5855,
        "levels": 3,
        "hourly_rate_cents": 300,
        "billing_increment_minutes": 30,
        "free_minutes": 10,
        "daily_max_cents": None,
        "total_spots": 60,
    },
)


def seed_demo_lots() -> list[str]:
    """Add the three demo lots (once); return lines describing them."""
    lines = []
    for spec in DEMO_LOTS:
        existing = db.session.scalar(
            select(Lot.id).where(Lot.name == spec["name"], Lot.deleted_at.is_(None))
        )
        if existing:
            lines.append(f"demo lot {spec['name']!r} already exists (id {existing})")
            continue
        lot = create_lot(**spec)
        lines.append(f"demo lot {lot.name!r} (id {lot.id}) with {spec['total_spots']} spots")
    return lines
