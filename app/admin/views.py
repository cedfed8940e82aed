"""Administration (role admin)."""

from __future__ import annotations

from flask.views import MethodView

from app.admin import dashboard
from app.admin import service as admin
from app.admin.audit import audited
from app.admin.schemas import (
    ActivityListSchema,
    ActivityQuerySchema,
    AdminBookingQuerySchema,
    AdminBookingSchema,
    AdminLotQuerySchema,
    AdminLotSchema,
    AdminSpotSchema,
    AdminStatsSchema,
    AdminUserQuerySchema,
    AdminUserSchema,
    AdminUserUpdateSchema,
    AuditEntrySchema,
    AuditQuerySchema,
    LotCreateSchema,
    LotUpdateSchema,
    SpotUpdateSchema,
    StatsQuerySchema,
)
from app.lots import management
from app.lots import service as lots
from app.platform.auth import current_user_id
from app.platform.blueprint import Blueprint
from app.platform.schemas import PaginationQuery, page_of
from app.platform.transactions import transaction
from app.platform.web import created, protected
from app.privacy import service as privacy

blp = Blueprint("admin", __name__, description="Administration (role admin).")


@blp.route("/admin/lots")
class AdminLots(MethodView):
    @protected(blp, 422, role="admin")
    @blp.arguments(AdminLotQuerySchema, location="query")
    @blp.response(200, page_of(AdminLotSchema))
    def get(self, query):
        """Every lot with its spot counts (`?q=`)."""
        return management.admin_list_lots(**query)

    @protected(blp, 422, role="admin")
    @blp.arguments(LotCreateSchema)
    @transaction
    @blp.response(201, AdminLotSchema)
    @audited("lot.create", target_type="lot")
    def post(self, body):
        """Create a lot and its spots numbered 1..N."""
        lot = management.create_lot(**body)
        return created(lots.get_lot_view(lot_id=lot.id), "admin.AdminLot", lot_id=lot.id)


@blp.route("/admin/lots/<id:lot_id>")
class AdminLot(MethodView):
    @protected(blp, 404, role="admin")
    @blp.response(200, AdminLotSchema)
    def get(self, lot_id):
        """One lot with its counts."""
        return lots.get_lot_view(lot_id=lot_id)

    @protected(blp, 404, 409, 422, role="admin")
    @blp.arguments(LotUpdateSchema)
    @transaction
    @blp.response(200, AdminLotSchema)
    @audited("lot.update", target_type="lot", target="lot_id")
    def patch(self, changes, lot_id):
        """Update a lot; `total_spots` grows it or shrinks it (409 `lot_in_use`)."""
        management.update_lot(lot_id=lot_id, changes=dict(changes))
        return lots.get_lot_view(lot_id=lot_id)

    @protected(blp, 404, 409, role="admin")
    @transaction
    @blp.response(204)
    @audited("lot.delete", target_type="lot", target="lot_id")
    def delete(self, lot_id):
        """Delete a lot (refused while a spot is occupied); its history stays."""
        management.delete_lot(lot_id=lot_id)


@blp.route("/admin/lots/<id:lot_id>/spots")
class AdminLotSpots(MethodView):
    @protected(blp, 404, 422, role="admin")
    @blp.arguments(PaginationQuery, location="query")
    @blp.response(200, page_of(AdminSpotSchema))
    def get(self, query, lot_id):
        """The lot's spots with their status and current booking."""
        return management.list_spots(lot_id=lot_id, **query)


@blp.route("/admin/spots/<id:spot_id>")
class AdminSpot(MethodView):
    @protected(blp, 404, 422, role="admin")
    @blp.arguments(SpotUpdateSchema)
    @transaction
    @blp.response(200, AdminSpotSchema)
    @audited("spot.update", target_type="spot", target="spot_id")
    def patch(self, body, spot_id):
        """Take a spot out of service or back; set its features and level."""
        return management.update_spot(spot_id=spot_id, changes=body)


@blp.route("/admin/users")
class AdminUsers(MethodView):
    @protected(blp, 422, role="admin")
    @blp.arguments(AdminUserQuerySchema, location="query")
    @blp.response(200, page_of(AdminUserSchema))
    def get(self, query):
        """Users with their booking counts (`?q=`)."""
        return admin.list_users(**query)


@blp.route("/admin/users/<id:user_id>")
class AdminUser(MethodView):
    @protected(blp, 404, role="admin")
    @transaction
    @blp.response(200, AdminUserSchema)
    def get(self, user_id):
        """One user with booking count and active booking."""
        return admin.get_user(actor_id=current_user_id(), user_id=user_id)

    @protected(blp, 404, 409, 422, role="admin")
    @blp.arguments(AdminUserUpdateSchema)
    @transaction
    @blp.response(200, AdminUserSchema)
    @audited("user.update", target_type="user", target="user_id")
    def patch(self, changes, user_id):
        """Activate/deactivate (revokes sessions) or change the role."""
        return admin.update_user(admin_id=current_user_id(), user_id=user_id, changes=changes)

    @protected(blp, 404, 409, role="admin")
    @transaction
    @blp.response(204)
    def delete(self, user_id):
        """Erase an account on the person's request (audited; as `DELETE /me` does)."""
        privacy.erase_user(actor_id=current_user_id(), user_id=user_id)


@blp.route("/admin/bookings")
class AdminBookings(MethodView):
    @protected(blp, 422, role="admin")
    @blp.arguments(AdminBookingQuerySchema, location="query")
    @transaction
    @blp.response(200, page_of(AdminBookingSchema))
    def get(self, query):
        """Every booking, newest first (`?lot_id=&status=&user_id=`)."""
        return admin.list_bookings(actor_id=current_user_id(), **query)


@blp.route("/admin/stats")
class AdminStats(MethodView):
    @protected(blp, 422, role="admin")
    @blp.arguments(StatsQuerySchema, location="query")
    @blp.response(200, AdminStatsSchema)
    def get(self, query):
        """Occupancy, paid revenue today and this month, users, active bookings; per lot, one
        page of lots (`?per_lot_limit=&per_lot_cursor=`)."""
        return dashboard.stats(**query)


@blp.route("/admin/activity")
class AdminActivity(MethodView):
    @protected(blp, 422, role="admin")
    @blp.arguments(ActivityQuerySchema, location="query")
    @blp.response(200, ActivityListSchema)
    def get(self, query):
        """The newest bookings, releases and registrations (`?limit=`)."""
        return admin.activity(**query)


@blp.route("/admin/audit")
class AdminAuditLog(MethodView):
    @protected(blp, 422, role="admin")
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, page_of(AuditEntrySchema))
    def get(self, query):
        """Every admin action, newest first (`?actor_id=&action=&target_type=&from=&to=`)."""
        return admin.list_audit(**query)
