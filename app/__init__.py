"""ParkMind: the application factory.

``create_app`` binds the platform's mechanisms (``app/platform/``) and registers each domain's
blueprints. Every feature lives in its domain's package (``app/<domain>/``); see the README's
architecture section for the map.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app import models  # noqa: F401  (every model, so the schema is whole before first use)
from app.accounts import views as accounts_views
from app.accounts.cli import users_cli
from app.admin import views as admin_views
from app.admin.cli import seed_cli, stats_command
from app.bookings import views as bookings_views
from app.circle import views as circle_views
from app.devices import views as devices_views
from app.exports import views as exports_views
from app.lots import views as lots_views
from app.notifications import views as notifications_views
from app.parking import views as parking_views
from app.payments import views as payments_views
from app.platform import db_events, docs, ops
from app.platform.auth import register_jwt_handlers
from app.platform.celery_app import init_celery
from app.platform.cli import jobs_cli
from app.platform.edge import register_request_hooks
from app.platform.errors import register_error_handlers
from app.platform.extensions import get_api, init_extensions
from app.platform.flask_app import ParkMindFlask
from app.platform.i18n import init_i18n
from app.platform.logs import configure_logging
from app.platform.metrics import init_metrics
from app.platform.web import API_PREFIX, IdConverter, id_param_schema
from app.privacy import views as privacy_views
from app.reservations import views as reservations_views
from app.uploads import views as uploads_views
from config import engine_options, load_config, validate_config

# Every blueprint with its URL prefix under ``API_PREFIX``, in the order the docs list them.
BLUEPRINTS = (
    (ops.blp, ""),
    (accounts_views.blp, "/auth"),
    (accounts_views.me_blp, "/me"),
    (accounts_views.unsubscribe_blp, ""),
    (privacy_views.blp, ""),
    (bookings_views.stats_blp, ""),
    (lots_views.blp, ""),
    (bookings_views.blp, ""),
    (reservations_views.blp, ""),
    (payments_views.blp, ""),
    (admin_views.blp, ""),
    (payments_views.admin_blp, ""),
    (parking_views.blp, ""),
    (uploads_views.blp, ""),
    (exports_views.blp, ""),
    (circle_views.blp, ""),
    (notifications_views.blp, ""),
    (devices_views.blp, ""),
)


def create_app(app_env: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Build a configured ParkMind app. Nothing connects to a service here."""
    settings = load_config(app_env)
    app = ParkMindFlask(__name__, instance_relative_config=False)
    app.config.from_object(settings)
    if overrides:
        app.config.update(overrides)
    app.config.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    )
    validate_config(app.config)
    app.json.sort_keys = False

    configure_logging(app)
    init_extensions(app)
    init_i18n(app)
    db_events.register(app)
    register_error_handlers(app)
    register_jwt_handlers(app)
    register_blueprints(app)
    for command in (seed_cli, users_cli, jobs_cli, stats_command):
        app.cli.add_command(command)
    init_metrics(app)
    init_celery(app)
    register_request_hooks(app)
    if app.config["TRUSTED_PROXIES"] > 0:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    return app


def register_blueprints(app: Flask) -> None:
    """Register every domain's blueprints and the docs assets."""
    app.url_map.converters["id"] = IdConverter
    api = get_api(app)
    api.register_converter(IdConverter, id_param_schema)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    for blueprint, prefix in BLUEPRINTS:
        api.register_blueprint(blueprint, url_prefix=API_PREFIX + prefix)
    docs.register(app)
