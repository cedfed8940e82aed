"""Fixtures: an app per database backend, a rolled-back transaction per test, auth helpers.

The suite always runs on SQLite and, when they answer, on MariaDB (127.0.0.1:3306) and
PostgreSQL (127.0.0.1:5432) too, each in a database of its own, dropped at the end. With
``CI=true`` a missing MariaDB, PostgreSQL or Redis stops the run as a failure instead of skipping.
"""

from __future__ import annotations

import json
import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

os.environ.setdefault("PARKMIND_INSTANCE_PATH", str(Path(__file__).parent / ".instance"))
os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)

from tests.services_probe import IN_CI, MARIADB_URL, POSTGRESQL_URL, probe

pytest_plugins = [
    "tests.support.smtp",
    "tests.support.live_server",
    "tests.support.s3",
    "tests.support.celery_worker",
]

SERVICES = probe()
MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")


def pytest_report_header(config):
    return SERVICES.describe()


def pytest_configure(config):
    config.addinivalue_line("markers", "mariadb_only: runs only on the MariaDB backend")
    config.addinivalue_line(
        "markers", "system: starts real processes (gunicorn, worker); a stage of its own"
    )
    missing = [
        name
        for name, ok in (
            ("mariadb", SERVICES.mariadb),
            ("postgresql", SERVICES.postgresql),
            ("redis", SERVICES.redis),
        )
        if not ok
    ]
    if IN_CI and missing:
        raise pytest.UsageError(
            f"CI=true but required services are unreachable: {', '.join(missing)}"
        )


def require(service: str) -> None:
    """Skip (locally) or fail (in CI) when ``service`` is not reachable."""
    if getattr(SERVICES, service):
        return
    if IN_CI:
        pytest.fail(f"{service} is required in CI but unreachable")
    pytest.skip(f"{service} not reachable")


def create_mariadb_database(prefix: str = "parkmind_test") -> tuple[str, callable]:
    """Create a uniquely named MariaDB database; return its URL and a function dropping it."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    server = sa.create_engine(MARIADB_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.exec_driver_sql(
            f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )

    def drop() -> None:
        with server.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        server.dispose()

    return f"{MARIADB_URL}/{name}?charset=utf8mb4", drop


def create_postgresql_database(prefix: str = "parkmind_test") -> tuple[str, callable]:
    """Create a uniquely named PostgreSQL database; return its URL and a function dropping it."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    server = sa.create_engine(f"{POSTGRESQL_URL}/postgres", isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8'")

    def drop() -> None:
        with server.connect() as conn:
            # FORCE: a connection a killed server or worker left behind must not keep it.
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()

    return f"{POSTGRESQL_URL}/{name}", drop


def create_database(backend: str, prefix: str) -> tuple[str, callable]:
    """A fresh database on a server ``backend`` (``mariadb`` or ``postgresql``), and its drop."""
    require(backend)
    if backend == "mariadb":
        return create_mariadb_database(prefix)
    if backend == "postgresql":
        return create_postgresql_database(prefix)
    raise ValueError(f"no database server called {backend!r}")


def backend_of(database_url: str) -> str:
    """``sqlite``, ``mariadb`` or ``postgresql``: the backend a database URL points at."""
    if database_url.startswith("mysql"):
        return "mariadb"
    if database_url.startswith("postgresql"):
        return "postgresql"
    return "sqlite"


@pytest.fixture(scope="session", params=["sqlite", "mariadb", "postgresql"])
def database_url(request, tmp_path_factory):
    """A fresh, empty database per backend for the whole session."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "parkmind.db"
        yield f"sqlite:///{path}"
        return
    url, drop = create_database(request.param, "parkmind_test")
    yield url
    drop()


@pytest.fixture(scope="session")
def backend(database_url) -> str:
    return backend_of(database_url)


def make_app(database_url: str, **overrides):
    from app import create_app

    settings = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "LOCAL_STORAGE_PATH": str(Path(os.environ["PARKMIND_INSTANCE_PATH"]) / "files"),
    }
    settings.update(overrides)
    return create_app("testing", overrides=settings)


@contextmanager
def migrated_app(database_url: str, **overrides):
    """An app on ``database_url``, its schema built by the real migrations; its engine's
    connections are closed on the way out."""
    import flask_migrate

    application = make_app(database_url, **overrides)
    with application.app_context():
        flask_migrate.upgrade(directory=MIGRATIONS)
    try:
        yield application
    finally:
        with application.app_context():
            from app.platform.extensions import db

            db.engine.dispose()


@pytest.fixture(scope="session")
def app(database_url):
    """The app on this backend, its schema built by the real migrations."""
    with migrated_app(database_url) as application:
        yield application


@pytest.fixture
def db(app):
    """Every test runs inside one outer transaction that is rolled back at the end."""
    from app.platform.extensions import db as _db

    with app.app_context():
        engine = _db.engine
        connection = engine.connect()
        transaction = connection.begin()
        engines = _db._app_engines[app]
        original = engines[None]
        engines[None] = connection
        factory = _db.session.session_factory
        previous_mode = factory.kw.get("join_transaction_mode")
        factory.kw["join_transaction_mode"] = "create_savepoint"
        _db.session.remove()
        try:
            yield _db
        finally:
            _db.session.remove()
            if transaction.is_active:
                transaction.rollback()
            connection.close()
            engines[None] = original
            if previous_mode is None:
                factory.kw.pop("join_transaction_mode", None)
            else:
                factory.kw["join_transaction_mode"] = previous_mode


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def auth(client):
    """``auth(user)`` logs ``user`` in through the API and returns its Authorization headers."""
    from tests.factories import PASSWORD

    def login(user, password: str = PASSWORD) -> dict[str, str]:
        response = client.post(
            "/api/v1/auth/login", json={"login": user.username, "password": password}
        )
        assert response.status_code == 200, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['access_token']}"}

    return login


@pytest.fixture
def user(db):
    from tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def admin(db):
    from tests.factories import UserFactory

    return UserFactory(role="admin")


# --- jobs: run a job the way an operator does, with mail going to aiosmtpd ---------------------


@pytest.fixture
def mailing(app, mail_config, monkeypatch):
    for key, value in mail_config.items():
        monkeypatch.setitem(app.config, key, value)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://parkmind.example")


@pytest.fixture
def run_job(app, db):
    """``run_job(name)`` → the job's result, through ``flask jobs run NAME``."""
    runner = app.test_cli_runner()

    def run(name: str) -> dict:
        result = runner.invoke(args=["jobs", "run", name])
        assert result.exit_code == 0, result.output
        return json.loads(result.output.strip().splitlines()[-1])["result"]

    return run
