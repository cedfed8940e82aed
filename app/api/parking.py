"""Parking memory: events, landmarks, retrieval, scores."""

from __future__ import annotations

from flask_smorest import Blueprint

URL_PREFIX = ""
blp = Blueprint(
    "parking", __name__, description="Parking memory: events, landmarks, retrieval, scores."
)
