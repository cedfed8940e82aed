"""Real gunicorn servers for end-to-end and concurrency tests.

``live_server(env)`` starts ``gunicorn 'app:create_app()'`` (gthread workers) in its own process
group on 127.0.0.1, waits for ``/api/v1/health``, yields the base URL and terminates the whole
group at the end. ``migrated_database(backend, tmp_path)`` gives a committed database (MariaDB,
PostgreSQL: its own database, dropped afterwards; SQLite: a file) with the schema built by the
migrations. The ``live_server_factory`` fixture starts any number of servers and stops them
after the test.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.support.net import free_port
from tests.support.processes import start_gunicorn, stop_group

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = str(ROOT / "migrations")


@contextmanager
def migrated_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A committed database with the migrated schema; yields its URL (dropped at the end)."""
    import flask_migrate

    from tests.conftest import create_database, make_app

    drop = None
    if backend in ("mariadb", "postgresql"):
        url, drop = create_database(backend, "parkmind_live")
    else:
        url = f"sqlite:///{tmp_path / 'live.db'}"
    try:
        app = make_app(url)
        with app.app_context():
            flask_migrate.upgrade(directory=MIGRATIONS)
            from app.platform.extensions import db

            db.engine.dispose()
        yield url
    finally:
        if drop is not None:
            drop()


def server_env(url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of a live server on ``url`` with its instance folder and local file
    storage under ``tmp_path``."""
    return {
        "DATABASE_URL": url,
        "PARKMIND_INSTANCE_PATH": str(tmp_path / "instance"),
        "LOCAL_STORAGE_PATH": str(tmp_path / "files"),
    }


@contextmanager
def live_server(
    env: dict[str, str],
    *,
    workers: int = 3,
    threads: int = 4,
    port: int | None = None,
    startup_timeout: float = 30.0,
    log_path: Path | None = None,
) -> Iterator[str]:
    """Run gunicorn with ``env`` (APP_ENV=testing, limits off unless given); yield its base URL."""
    port = port or free_port()
    log_path = log_path or Path(os.environ.get("TMPDIR", "/tmp")) / f"gunicorn-{port}.log"
    process, base_url = start_gunicorn(
        env,
        log_path,
        workers=workers,
        threads=threads,
        graceful_timeout=5,
        port=port,
        startup_timeout=startup_timeout,
    )
    try:
        yield base_url
    finally:
        stop_group(process, timeout=10)


@pytest.fixture
def live_server_factory(tmp_path) -> Iterator[Callable[..., str]]:
    """``start(env, **options)`` → base URL of a new gunicorn; all are stopped after the test."""
    with ExitStack() as stack:

        def start(env: dict[str, str], **options) -> str:
            options.setdefault("log_path", tmp_path / f"gunicorn-{len(stack._exit_callbacks)}.log")
            return stack.enter_context(live_server(env, **options))

        yield start
