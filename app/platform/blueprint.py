"""The API's Blueprint: flask-smorest's, as it comes."""

from __future__ import annotations

import flask_smorest


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint (one name for every domain's views to import)."""
