"""Dashboards."""

from __future__ import annotations

from flask_smorest import Blueprint

URL_PREFIX = ""
blp = Blueprint("stats", __name__, description="Dashboards.")
