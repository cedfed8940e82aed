"""Dashboards."""

from __future__ import annotations

from flask.views import MethodView

from app.api.blueprint import Blueprint
from app.api.common import protected
from app.auth import current_user_id
from app.schemas.bookings import MyStatsSchema
from app.services import bookings

URL_PREFIX = ""
blp = Blueprint("stats", __name__, description="Dashboards.")


@blp.route("/me/stats")
class MyStats(MethodView):
    @protected(blp)
    @blp.response(200, MyStatsSchema)
    def get(self):
        """The caller's dashboard: bookings, spend, active booking, retrievals, latest score."""
        return bookings.my_stats(user_id=current_user_id())
