"""Reservations: quote, reserve, check in, extend, cancel, release."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from app.bookings.schemas import IdempotencyHeaderSchema
from app.platform.auth import current_user_id
from app.platform.blueprint import Blueprint, renderer
from app.platform.extensions import limiter
from app.platform.schemas import page_of
from app.platform.transactions import transaction
from app.platform.web import Location, protected
from app.reservations import queries
from app.reservations import service as reservations
from app.reservations.schemas import (
    AdminReservationQuerySchema,
    AdminReservationSchema,
    ExtendSchema,
    QuoteRequestSchema,
    QuoteSchema,
    ReservationCreateSchema,
    ReservationQuerySchema,
    ReservationSchema,
)

blp = Blueprint("reservations", __name__, description="Reservations of future times.")
RENDER_RESERVATION = renderer(ReservationSchema)


def _reservation_limit() -> str:
    return current_app.config["BOOKING_RATE_LIMIT"]


@blp.route("/reservations/quote")
class Quote(MethodView):
    @protected(blp, 404, 422)
    @blp.arguments(QuoteRequestSchema)
    @transaction  # a POST, though it only reads: one consistent view of spots and reservations
    @blp.response(200, QuoteSchema)
    def post(self, body):
        """Price an interval with the lot's rule and say whether a spot is free for it."""
        return reservations.quote(**body)


@blp.route("/reservations")
class Reservations(MethodView):
    decorators = [limiter.limit(_reservation_limit, methods=["POST"])]

    @protected(blp, 422)
    @blp.arguments(ReservationQuerySchema, location="query")
    @blp.response(200, page_of(ReservationSchema))
    def get(self, query):
        """The caller's reservations, latest start first (`?status=&from=&to=`)."""
        return queries.list_reservations(user_id=current_user_id(), **query)

    @protected(blp, 404, 409, 422, 429)
    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.arguments(ReservationCreateSchema)
    @transaction
    @blp.response(201, ReservationSchema)
    def post(self, headers, body):
        """Reserve a spot for `[start_at, end_at)` (send an `Idempotency-Key`)."""
        outcome = reservations.create_reservation(
            user_id=current_user_id(),
            idempotency_key=headers.get("idempotency_key"),
            render=RENDER_RESERVATION,
            **body,
        )
        location = Location("reservations.ReservationDetail", reservation_id=outcome.reservation_id)
        return outcome.body, outcome.status, {"Location": location}


@blp.route("/reservations/<id:reservation_id>")
class ReservationDetail(MethodView):
    @protected(blp, 404)
    @blp.response(200, ReservationSchema)
    def get(self, reservation_id):
        """One of the caller's reservations."""
        return queries.get_reservation(user_id=current_user_id(), reservation_id=reservation_id)


@blp.route("/reservations/<id:reservation_id>/check-in")
class CheckIn(MethodView):
    @protected(blp, 404, 409)
    @transaction
    @blp.response(200, ReservationSchema)
    def post(self, reservation_id):
        """Arrive: from `RESERVATION_EARLY_MINUTES` before the start; the stay begins."""
        return reservations.check_in(user_id=current_user_id(), reservation_id=reservation_id)


@blp.route("/reservations/<id:reservation_id>/extend")
class Extend(MethodView):
    @protected(blp, 404, 409, 422)
    @blp.arguments(ExtendSchema)
    @transaction
    @blp.response(200, ReservationSchema)
    def post(self, body, reservation_id):
        """Move the end later while the spot stays free (409 `extension_unavailable`)."""
        return reservations.extend(
            user_id=current_user_id(), reservation_id=reservation_id, end_at=body["end_at"]
        )


@blp.route("/reservations/<id:reservation_id>/cancel")
class Cancel(MethodView):
    @protected(blp, 404, 409)
    @transaction
    @blp.response(200, ReservationSchema)
    def post(self, reservation_id):
        """Cancel: free until `cancellation_free_until`, then the lot's late fee."""
        return reservations.cancel(user_id=current_user_id(), reservation_id=reservation_id)


@blp.route("/reservations/<id:reservation_id>/release")
class Release(MethodView):
    @protected(blp, 404, 409)
    @transaction
    @blp.response(200, ReservationSchema)
    def post(self, reservation_id):
        """Leave: bills the stay from the start (at least to the reserved end), records payment."""
        return reservations.release(user_id=current_user_id(), reservation_id=reservation_id)


@blp.route("/admin/reservations")
class AdminReservations(MethodView):
    @protected(blp, 422, role="admin")
    @blp.arguments(AdminReservationQuerySchema, location="query")
    @transaction
    @blp.response(200, page_of(AdminReservationSchema))
    def get(self, query):
        """Admin: reservations of every lot (`?lot_id=&user_id=&status=&from=&to=`)."""
        return queries.admin_list_reservations(actor_id=current_user_id(), **query)
