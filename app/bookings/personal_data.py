"""What the bookings domain holds about a person: their bookings (app.platform.personal_data)."""

from __future__ import annotations

from sqlalchemy import delete, exists, select, update

from app.bookings.models import Booking
from app.payments.models import Payment
from app.platform.extensions import db
from app.platform.personal_data import Erased, eraser, part, record

# A kept booking is a financial record: the price and times stay, the person's words go.
ERASED_VEHICLE = ""


@part("bookings", about="Every booking: lot, spot, times, price rule and cost.", models=[Booking])
def export_bookings(user_id: int) -> list[dict]:
    """The person's bookings, oldest first."""
    rows = db.session.scalars(
        select(Booking).where(Booking.user_id == user_id).order_by(Booking.started_at, Booking.id)
    )
    return [record(booking) for booking in rows]


@eraser("bookings", order=40)
def erase_bookings(user_id: int) -> Erased:
    """Cancelled bookings go; the others stay for the retention period without the vehicle
    number or the person's remarks (the account row they point to is anonymised)."""
    removed = db.session.execute(
        delete(Booking)
        .where(
            Booking.user_id == user_id,
            Booking.status == "cancelled",
            ~exists().where(Payment.booking_id == Booking.id),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    kept = db.session.execute(
        update(Booking)
        .where(Booking.user_id == user_id)
        .values(vehicle_number=ERASED_VEHICLE, remarks=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    return Erased({"bookings_deleted": removed or 0, "bookings_anonymised": kept or 0})
