"""Blueprints, one per resource, registered on the smorest ``Api`` under ``/api/v1``."""

from __future__ import annotations

from flask import Flask

from app.extensions import get_api

API_PREFIX = "/api/v1"


def register_blueprints(app: Flask) -> None:
    """Register every resource blueprint and the docs assets."""
    from app.api import (
        admin,
        auth,
        bookings,
        circle,
        docs,
        exports,
        lots,
        me,
        notifications,
        ops,
        parking,
        stats,
        uploads,
    )

    api = get_api(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    modules = (
        ops,
        auth,
        me,
        stats,
        lots,
        bookings,
        admin,
        parking,
        uploads,
        exports,
        circle,
        notifications,
    )
    for module in modules:
        api.register_blueprint(module.blp, url_prefix=API_PREFIX + module.URL_PREFIX)
    docs.register(app)
