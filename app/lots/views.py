"""Parking lots for drivers."""

from __future__ import annotations

from flask.views import MethodView

from app.lots import service as lots
from app.lots.schemas import LotQuerySchema, LotSchema
from app.platform.blueprint import Blueprint
from app.platform.schemas import page_of
from app.platform.web import protected

blp = Blueprint("lots", __name__, description="Parking lots for drivers.")
LotPage = page_of(LotSchema)


@blp.route("/lots")
class Lots(MethodView):
    @protected(blp, 422)
    @blp.arguments(LotQuerySchema(), location="query")  # one instance: not rebuilt per request
    @blp.response(200, page_of(LotSchema))
    def get(self, query):
        """Lots with free and total spots and pricing; search by text, pin code or distance."""
        return lots.list_lots(**query)


@blp.route("/lots/<id:lot_id>")
class LotDetail(MethodView):
    @protected(blp, 404)
    @blp.response(200, LotSchema)
    def get(self, lot_id):
        """One lot with its pricing and free count."""
        return lots.driver_lot_view(lot_id=lot_id)
