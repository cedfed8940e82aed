"""Flask extensions, created unbound at import time and bound in ``create_app``."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_cors import CORS
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from app.platform.openapi import SPEC_OPTIONS, ContractPlugin
from app.platform.schemas import ErrorSchema

# Stable constraint names, so migrations are the same on SQLite and MariaDB.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def client_address() -> str:
    """The client's address as the rate limiter sees it (ProxyFix has run when configured)."""
    return request.remote_addr or "unknown"


db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
jwt = JWTManager()
cors = CORS()


LIMITER_STATE = "parkmind_limiter_state"  # app.extensions key of an app's limiter state


class PerAppLimiter(Limiter):
    """Flask-Limiter with one state per app.

    Flask-Limiter keeps its settings (enabled, storage, strategy) on the extension object, so with
    several apps in one process (the test suite, tools) the last ``init_app`` would decide for all
    of them. Each app's state is kept apart and switched in at the start of its requests.
    This is about correctness, not speed: production runs one app per process, and the switch
    costs one dict lookup per request. Flask-Limiter keeping its state in the instance's
    ``__dict__`` is pinned by tests/platform/test_library_pins.py.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._pristine_state = dict(self.__dict__)

    def init_app(self, app: Flask) -> None:
        pristine = self._pristine_state
        self.__dict__.clear()
        self.__dict__.update(pristine)
        self._pristine_state = pristine
        app.before_request_funcs.setdefault(None, []).insert(0, self._activate_app_state)
        super().init_app(app)
        app.extensions[LIMITER_STATE] = dict(self.__dict__)

    def _activate_app_state(self) -> None:

        state = current_app.extensions.get(LIMITER_STATE)
        if state is not None and self.__dict__.get("_active_app_state") is not state:
            self.__dict__.update(state)
            self.__dict__["_active_app_state"] = state


limiter = PerAppLimiter(key_func=client_address, default_limits_exempt_when=lambda: False)


class ParkMindApi(Api):
    """flask-smorest with the contract's error shape in the generated spec, and no blanket
    ``default`` response: every status an operation answers is declared by the operation."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_pagination_header(self) -> None:
        # smorest's X-Pagination header and its schema: ParkMind pages in the body, so the
        # component would sit unused in the document (Spectral's oas3-unused-component).
        return None


def take_cors_hook(app: Flask):
    """Flask-CORS's after-request function for ``app``, removed from the app's hooks.

    The edge's own after-request hook calls it, and only for requests with an ``Origin`` header:
    with ``always_send`` off, Flask-CORS adds nothing to any other response, yet its hook costs
    ~19 µs on every request (measured here through the test client: GET /health 147 → 166 µs
    CPU, GET /lots/{id} 434 → 478 µs). The hook is found by its name; a Flask-CORS that renames
    it fails here, at start-up (``tests/platform/test_library_pins.py``).
    """
    hooks = app.after_request_funcs.get(None, [])
    for hook in hooks:
        if getattr(hook, "__name__", "") == "cors_after_request":
            hooks.remove(hook)
            return hook
    raise RuntimeError("Flask-CORS's after-request hook 'cors_after_request' was not found")


def get_api(app: Flask | None = None) -> ParkMindApi:
    """The smorest ``Api`` of this app (one per app, so several apps can coexist in tests)."""

    return (app or current_app).extensions["parkmind_api"]


def init_extensions(app: Flask) -> None:
    """Bind every extension to ``app``."""
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config.get("MIGRATIONS_DIR", "migrations")))
    jwt.init_app(app)
    cors.init_app(
        app,
        resources={r"/api/*": {"origins": app.config["CORS_ORIGINS"]}},
        expose_headers=["X-Request-ID", "Location", "Retry-After"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
        # CORS headers answer a browser's cross-origin request, which always carries Origin.
        always_send=False,
    )
    limiter.init_app(app)
    app.extensions["parkmind_api"] = ParkMindApi(
        app, spec_kwargs={"extra_plugins": [ContractPlugin()], **SPEC_OPTIONS}
    )
