"""Reservations: quote, reserve, check in, extend, cancel, release."""

from __future__ import annotations

from app.platform.blueprint import Blueprint

blp = Blueprint("reservations", __name__, description="Reservations of future times.")
