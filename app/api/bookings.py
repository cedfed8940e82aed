"""Bookings: book, release, history."""

from __future__ import annotations

from flask_smorest import Blueprint

URL_PREFIX = ""
blp = Blueprint("bookings", __name__, description="Bookings: book, release, history.")
