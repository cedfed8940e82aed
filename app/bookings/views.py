"""Bookings: book, release, history."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from app.bookings import service as bookings
from app.bookings.schemas import (
    BookingCreateSchema,
    BookingQuerySchema,
    BookingSchema,
    IdempotencyHeaderSchema,
    MyStatsSchema,
)
from app.platform.auth import current_user_id
from app.platform.blueprint import Blueprint, renderer
from app.platform.extensions import limiter
from app.platform.schemas import history_page_of
from app.platform.transactions import transaction
from app.platform.web import Location, protected

blp = Blueprint("bookings", __name__, description="Bookings: book, release, history.")
stats_blp = Blueprint("stats", __name__, description="Dashboards.")
BookingPage = history_page_of(BookingSchema)
RENDER_BOOKING = renderer(BookingSchema)


def _booking_limit() -> str:
    return current_app.config["BOOKING_RATE_LIMIT"]


@blp.route("/bookings")
class Bookings(MethodView):
    decorators = [limiter.limit(_booking_limit, methods=["POST"])]

    @protected(blp, 422)
    @blp.arguments(BookingQuerySchema(), location="query")  # one instance, reused
    @blp.response(200, BookingPage)
    def get(self, query):
        """The caller's bookings, newest first (`?status=`; `?cursor=` for any depth)."""
        return bookings.list_bookings(user_id=current_user_id(), **query)

    @protected(blp, 404, 409, 422, 429)
    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.arguments(BookingCreateSchema)
    # The answer is serialised after the commit: on SQLite the write lock covers the writes only.
    @blp.response(201, BookingSchema)
    @transaction
    def post(self, headers, body):
        """Book the lowest-numbered free spot of a lot (send an `Idempotency-Key`)."""
        key = headers.get("idempotency_key")
        outcome = bookings.create_booking(
            user_id=current_user_id(), idempotency_key=key, render=RENDER_BOOKING, **body
        )
        # A replay is byte for byte the first answer (stored in the booking's transaction).
        location = Location("bookings.BookingDetail", booking_id=outcome.booking_id)
        return outcome.body, outcome.status, {"Location": location}


@blp.route("/bookings/active")
class ActiveBooking(MethodView):
    @protected(blp, 404)
    @blp.response(200, BookingSchema)
    def get(self):
        """The caller's active booking, or 404 `no_active_booking`."""
        return bookings.get_active_booking(user_id=current_user_id())


@blp.route("/bookings/<id:booking_id>")
class BookingDetail(MethodView):
    @protected(blp, 404)
    @blp.response(200, BookingSchema)
    def get(self, booking_id):
        """One of the caller's bookings; active ones show `cost_so_far_cents`."""
        return bookings.get_booking(user_id=current_user_id(), booking_id=booking_id)


@blp.route("/bookings/<id:booking_id>/release")
class ReleaseBooking(MethodView):
    @protected(blp, 404, 409)
    # The answer is serialised after the commit: on SQLite the write lock covers the writes only.
    @blp.response(200, BookingSchema)
    @transaction
    def post(self, booking_id):
        """End the booking: frees the spot, fixes the cost, records the payment."""
        return bookings.release_booking(user_id=current_user_id(), booking_id=booking_id)


@stats_blp.route("/me/stats")
class MyStats(MethodView):
    @protected(stats_blp)
    @stats_blp.response(200, MyStatsSchema)
    def get(self):
        """The caller's dashboard: bookings, spend, active booking, retrievals, latest score."""
        return bookings.my_stats(user_id=current_user_id())
