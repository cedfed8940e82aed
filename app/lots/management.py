"""Lot administration: create, resize, correct and retire lots, and set spots out of service."""

from __future__ import annotations

import logging
import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from app.accounts.models import User
from app.bookings.models import Booking
from app.lots.features import mask_of, names_of
from app.lots.models import Lot, Spot
from app.lots.service import LotInUse, get_live_lot, live_lots, search_filter, views_of
from app.platform import cache
from app.platform.errors import NotFound, ValidationFailed
from app.platform.extensions import db
from app.platform.models import utcnow
from app.platform.pagination import paginate
from app.reservations import service as reservations

log = logging.getLogger(__name__)


# --- administration -------------------------------------------------------------------------


def admin_list_lots(*, page: int, per_page: int, q: str | None = None) -> dict:
    """Admin: every lot that is not deleted, with its counts (of the page's lots only)."""
    stmt = live_lots()
    if q:
        stmt = search_filter(stmt, q)
    result = paginate(stmt.order_by(Lot.id), page=page, per_page=per_page)
    result["items"] = views_of(result["items"])
    return result


def _level_for(number: int, total: int, levels: int) -> int:
    # Spots fill levels in blocks: 1..k on level 1, k+1..2k on level 2, ...
    per_level = max(1, math.ceil(total / levels))
    return min(levels, (number - 1) // per_level + 1)


def create_lot(
    *, total_spots: int, features_by_spot: dict[str, list[str]] | None = None, **fields: Any
) -> Lot:
    """Admin: create a lot and its spots numbered 1..N (spread over its levels), with the
    features given per spot number."""
    features = {int(number): mask_of(names) for number, names in (features_by_spot or {}).items()}
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
            feature_mask=features.get(number, 0),
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
        if reservations.upcoming_on(lot_id=lot.id, spot_ids=[spot.id for spot in doomed]):
            raise LotInUse("Spots that shrinking would remove are reserved; move those first.")
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


def update_lot(*, lot_id: int, changes: dict[str, Any]) -> Lot:
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


def delete_lot(*, lot_id: int) -> None:
    """Admin: hide a lot; refused while any spot is occupied. Its history stays."""
    lot = get_live_lot(lot_id, lock=True)
    # Locking every spot of the lot makes a booking racing this delete wait (or skip them).
    occupied = any(
        db.session.scalars(select(Spot.is_occupied).where(Spot.lot_id == lot.id).with_for_update())
    )
    if occupied:
        raise LotInUse("This lot has occupied spots; it can be deleted once they are released.")
    if reservations.upcoming_on(lot_id=lot.id):
        raise LotInUse("This lot has reservations to honour; cancel or move them first.")
    lot.deleted_at = utcnow()
    db.session.flush()
    cache.invalidate(cache.LOTS, cache.ADMIN_STATS)
    log.info("lot %s deleted", lot.id)


def list_spots(*, lot_id: int, page: int, per_page: int) -> dict:
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
        "features": names_of(spot.feature_mask),
        "status": status,
        "is_occupied": spot.is_occupied,
        "current_booking": current,
    }


def update_spot(*, spot_id: int, changes: dict[str, Any]) -> dict:
    """Admin: take a spot out of service or back (a car already there stays until release);
    set its features and level. Reservations the spot can no longer serve move elsewhere."""
    spot = db.session.scalar(
        select(Spot)
        .join(Lot, Lot.id == Spot.lot_id)
        .where(Spot.id == spot_id, Spot.status != "removed", Lot.deleted_at.is_(None))
        .with_for_update()
    )
    if spot is None:
        raise NotFound("No such spot.", code="spot_not_found")
    if "status" in changes:
        spot.status = changes["status"]
    if "features" in changes:
        spot.feature_mask = mask_of(changes["features"])
    if "level" in changes:
        spot.level = changes["level"]
    db.session.flush()
    reservations.rehome_reservations_of_spot(spot_id=spot.id)
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
        "cancellation_fee_cents": 300,
        "features_by_spot": {
            "1": ["accessible", "near_exit", "covered"],
            "2": ["accessible", "covered"],
            "3": ["ev_charging", "covered"],
            "4": ["ev_charging", "covered"],
        },
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
