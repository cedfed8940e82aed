"""Bookings as plain rows: one statement for lists and details, one way to show a row."""

from __future__ import annotations

from functools import cache as memoize
from typing import Any

from sqlalchemy import Select, select

from app.bookings.models import Booking
from app.bookings.pricing import PriceRule, compute_cost_cents
from app.lots.models import Lot, Spot
from app.platform.models import utcnow


@memoize
def booking_rows() -> Select:
    """Bookings with their lot's name and spot's number and level, as plain rows."""
    bookings, lots, spots = Booking.__table__, Lot.__table__, Spot.__table__
    return select(
        bookings.c.id,
        bookings.c.lot_id,
        lots.c.name.label("lot_name"),
        bookings.c.spot_id,
        spots.c.number.label("spot_number"),
        spots.c.level.label("spot_level"),
        bookings.c.vehicle_number,
        bookings.c.status,
        bookings.c.started_at,
        bookings.c.ended_at,
        bookings.c.duration_minutes,
        bookings.c.hourly_rate_cents,
        bookings.c.billing_increment_minutes,
        bookings.c.free_minutes,
        bookings.c.daily_max_cents,
        bookings.c.cost_cents,
        bookings.c.currency,
        bookings.c.remarks,
    ).select_from(
        bookings.join(lots, lots.c.id == bookings.c.lot_id).join(
            spots, spots.c.id == bookings.c.spot_id
        )
    )


def booking_row_view(row: Any) -> dict[str, Any]:
    """A booking row of :func:`_booking_rows` as the API shows it."""
    (
        booking_id,
        lot_id,
        lot_name,
        spot_id,
        spot_number,
        spot_level,
        vehicle_number,
        status,
        started_at,
        ended_at,
        duration_minutes,
        hourly_rate_cents,
        billing_increment_minutes,
        free_minutes,
        daily_max_cents,
        cost_cents,
        currency,
        remarks,
    ) = row
    cost_so_far = None
    if status == "active":
        rule = PriceRule.of(row)
        cost_so_far = compute_cost_cents(rule, max(0.0, (utcnow() - started_at).total_seconds()))
    return {
        "id": booking_id,
        "lot": {"id": lot_id, "name": lot_name},
        "spot": {"id": spot_id, "number": spot_number, "level": spot_level},
        "vehicle_number": vehicle_number,
        "status": status,
        "started_at": started_at,
        "ended_at": ended_at,
        "duration_minutes": duration_minutes,
        "hourly_rate_cents": hourly_rate_cents,
        "billing_increment_minutes": billing_increment_minutes,
        "free_minutes": free_minutes,
        "daily_max_cents": daily_max_cents,
        "cost_cents": cost_cents,
        "cost_so_far_cents": cost_so_far,
        "currency": currency,
        "remarks": remarks,
    }
