"""The statements of booking and release, built once with bound parameters (building them on
each request was a tenth of a cycle's CPU)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache as memoize
from typing import Any

from sqlalchemy import bindparam, select

from app.accounts.models import User
from app.bookings.models import Booking
from app.lots.models import Lot, Spot

# The columns the release's locking read adds to the booking's own.
LOT_NAME, PREFERENCES = "lot_name", "driver_preferences"
# The booking's columns a release reads: what it checks, prices, pays and answers with (the
# rest it writes, or never shows).
RELEASE_READS = (
    "id",
    "user_id",
    "lot_id",
    "spot_id",
    "reservation_id",
    "vehicle_number",
    "remarks",
    "status",
    "started_at",
    "hourly_rate_cents",
    "billing_increment_minutes",
    "free_minutes",
    "daily_max_cents",
    "currency",
)


@dataclass(frozen=True)
class Statements:
    lock_user: Any
    active_of_user: Any
    insert_booking: Any
    lock_booking: Any
    lock_spot: Any
    free_spot: Any
    end_booking: Any


@memoize
def statements() -> Statements:
    """The booking and release statements."""
    users, bookings, spots, lots = User.__table__, Booking.__table__, Spot.__table__, Lot.__table__
    return Statements(
        lock_user=select(users.c.preferences)
        .where(users.c.id == bindparam("user_id"))
        .with_for_update(),
        active_of_user=select(bookings.c.id).where(
            bookings.c.active_user_id == bindparam("user_id")
        ),
        # No RETURNING: the new id is the driver's (MariaDB's last insert id, SQLite's rowid);
        # SQLAlchemy asks PostgreSQL for it in the INSERT itself.
        insert_booking=bookings.insert(),
        # The booking's row lock, and with it (read, not locked: a locking read does not lock
        # the rows of its select list's subqueries) its lot's name and the driver's receipt
        # preference: one round trip where there were three.
        lock_booking=select(
            *(bookings.c[name] for name in RELEASE_READS),
            select(lots.c.name)
            .where(lots.c.id == bookings.c.lot_id)
            .scalar_subquery()
            .label(LOT_NAME),
            select(users.c.preferences)
            .where(users.c.id == bookings.c.user_id)
            .scalar_subquery()
            .label(PREFERENCES),
        )
        .where(bookings.c.id == bindparam("booking_id"), bookings.c.user_id == bindparam("user_id"))
        .with_for_update(),
        lock_spot=select(spots.c.id, spots.c.number, spots.c.level)
        .where(spots.c.id == bindparam("spot_id"))
        .with_for_update(),
        free_spot=spots.update()
        .where(spots.c.id == bindparam("spot_id_"))
        .values(is_occupied=False),
        end_booking=bookings.update().where(bookings.c.id == bindparam("booking_id_")),
    )
