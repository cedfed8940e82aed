"""The in-app inbox."""

from __future__ import annotations

from flask_smorest import Blueprint

URL_PREFIX = ""
blp = Blueprint("notifications", __name__, description="The in-app inbox.")
