"""The in-app inbox."""

from __future__ import annotations

from flask.views import MethodView

from app.notifications import service as notifications
from app.notifications.schemas import InboxPageSchema, NotificationQuery, NotificationSchema
from app.platform.auth import current_user_id
from app.platform.blueprint import Blueprint
from app.platform.transactions import transaction
from app.platform.web import protected

blp = Blueprint("notifications", __name__, description="The in-app inbox.")


@blp.route("/notifications")
class Notifications(MethodView):
    @protected(blp, 422)
    @blp.arguments(NotificationQuery, location="query")
    @blp.response(200, InboxPageSchema)
    def get(self, query):
        """My notifications, newest first (``?unread=true``), with the unread count."""
        return notifications.list_notifications(user_id=current_user_id(), **query)


@blp.route("/notifications/<id:notification_id>/read")
class ReadNotification(MethodView):
    @protected(blp, 404)
    @transaction
    @blp.response(200, NotificationSchema)
    def post(self, notification_id):
        """Mark one notification read."""
        return notifications.mark_read(user_id=current_user_id(), notification_id=notification_id)


@blp.route("/notifications/read-all")
class ReadAllNotifications(MethodView):
    @protected(blp)
    @transaction
    @blp.response(204)
    def post(self):
        """Mark every notification read."""
        notifications.mark_all_read(user_id=current_user_id())
