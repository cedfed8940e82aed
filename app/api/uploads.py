"""Photos: direct uploads to storage."""

from __future__ import annotations

from flask_smorest import Blueprint

URL_PREFIX = ""
blp = Blueprint("uploads", __name__, description="Photos: direct uploads to storage.")
