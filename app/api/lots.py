"""Parking lots for drivers."""

from __future__ import annotations

from flask_smorest import Blueprint

URL_PREFIX = ""
blp = Blueprint("lots", __name__, description="Parking lots for drivers.")
