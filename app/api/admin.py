"""Administration (role admin)."""

from __future__ import annotations

from flask_smorest import Blueprint

URL_PREFIX = ""
blp = Blueprint("admin", __name__, description="Administration (role admin).")
