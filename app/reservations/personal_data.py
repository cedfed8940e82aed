"""What the reservations domain holds about a person (see app.platform.personal_data)."""

from __future__ import annotations

from sqlalchemy import delete, exists, select, update

from app.bookings.models import Booking
from app.payments.models import Payment
from app.platform.extensions import db
from app.platform.personal_data import Erased, eraser, part, record
from app.reservations.models import Reservation


@part(
    "reservations",
    about="Every reservation: lot, spot, interval, frozen price and fee, check-in and end.",
    models=[Reservation],
)
def export_reservations(user_id: int) -> list[dict]:
    """The person's reservations, oldest first."""
    rows = db.session.scalars(
        select(Reservation)
        .where(Reservation.user_id == user_id)
        .order_by(Reservation.start_at, Reservation.id)
    )
    return [record(reservation) for reservation in rows]


@eraser("reservations", order=30)
def erase_reservations(user_id: int) -> Erased:
    """Reservations nothing was charged for go (an upcoming one frees its spot); those behind a
    payment or a stay stay, without the vehicle number."""
    charged = exists().where(Payment.reservation_id == Reservation.id)
    stayed = exists().where(Booking.reservation_id == Reservation.id)
    removed = db.session.execute(
        delete(Reservation)
        .where(Reservation.user_id == user_id, ~charged, ~stayed)
        .execution_options(synchronize_session=False)
    ).rowcount
    kept = db.session.execute(
        update(Reservation)
        .where(Reservation.user_id == user_id)
        .values(vehicle_number="")
        .execution_options(synchronize_session=False)
    ).rowcount
    return Erased({"reservations_deleted": removed or 0, "reservations_anonymised": kept or 0})
