"""CSV exports produced in the background."""

from __future__ import annotations

from flask_smorest import Blueprint

URL_PREFIX = ""
blp = Blueprint("exports", __name__, description="CSV exports produced in the background.")
