"""Care circle: caregivers and viewers, by consent."""

from __future__ import annotations

from flask_smorest import Blueprint

URL_PREFIX = ""
blp = Blueprint("circle", __name__, description="Care circle: caregivers and viewers, by consent.")
