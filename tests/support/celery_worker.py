"""A real Celery worker process on Redis, and an API app that sends it tasks.

``celery_stack(backend, tmp_path, smtp)`` (a context manager) builds a committed, migrated
database, an API app whose broker is Redis, and starts ``celery -A celery_worker worker
--pool=solo`` in its own process group with the same database, storage and SMTP settings. The
broker is a Redis database (8 to 15) claimed with a lock key for this run only, so parallel test
runs on one Redis never take each other's tasks. The worker is killed at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services_probe import REDIS_URL
from tests.support.processes import start_celery_worker, stop_group

REDIS_TEST_DBS = range(8, 16)
LOCK_KEY = "parkmind:test-worker-lock"


@dataclass
class CeleryStack:
    app: object  # the API Flask app (broker: Redis)
    database_url: str
    name: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextmanager
def _restore_celery_current_app() -> Iterator[None]:
    # Building an app makes its Celery app the process-wide current one; put the previous back
    # so later in-process tests do not send their tasks to this test's Redis queue.
    from celery import _state

    default, current = _state.default_app, getattr(_state._tls, "current_app", None)
    try:
        yield
    finally:
        _state.set_default_app(default)
        _state._tls.current_app = current


@contextmanager
def celery_stack(backend: str, tmp_path: Path, smtp) -> Iterator[CeleryStack]:
    """A migrated committed database, a Redis-backed API app and a live worker process."""
    from tests.conftest import require

    require("redis")
    name = f"parkmind-test-{uuid.uuid4().hex[:10]}"
    with _claimed_redis_db(name) as broker:
        yield from _stack(backend, tmp_path, smtp, broker, name)


@contextmanager
def _claimed_redis_db(token: str) -> Iterator[str]:
    import redis

    for number in REDIS_TEST_DBS:
        url = f"{REDIS_URL.rstrip('/')}/{number}"
        client = redis.Redis.from_url(url)
        if client.set(LOCK_KEY, token, nx=True, ex=900):
            # Tasks left behind by an earlier, interrupted run must not reach this run's worker.
            client.delete("celery", "unacked", "unacked_index")
            try:
                yield url
            finally:
                if client.get(LOCK_KEY) == token.encode():
                    client.delete(LOCK_KEY)
                client.close()
            return
        client.close()
    pytest.fail("no free Redis database for a test worker (all of 8-15 are locked)")


def worker_settings(
    database_url: str, broker: str, storage: Path, smtp_port: int
) -> tuple[dict, dict[str, str]]:
    """The API app's overrides and the worker's environment: one database, broker, storage, SMTP."""
    settings = {
        "REDIS_URL": broker,
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": None,
        "LOCAL_STORAGE_PATH": str(storage),
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_port,
        "MAIL_USE_TLS": False,
        "PUBLIC_BASE_URL": "https://parkmind.example",
    }
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": broker,
        "CELERY_BROKER_URL": broker,
        "LOCAL_STORAGE_PATH": str(storage),
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "MAIL_USE_TLS": "false",
        "PUBLIC_BASE_URL": "https://parkmind.example",
    }
    return settings, env


def _stack(backend: str, tmp_path: Path, smtp, broker: str, name: str) -> Iterator[CeleryStack]:
    from tests.conftest import make_app
    from tests.support.live_server import migrated_database

    storage = tmp_path / "files"
    log_path = tmp_path / "worker.log"
    with _restore_celery_current_app(), migrated_database(backend, tmp_path) as url:
        settings, env = worker_settings(url, broker, storage, smtp.port)
        api = make_app(url, **settings)
        try:
            worker = start_celery_worker(env, log_path, name)
            try:
                yield CeleryStack(app=api, database_url=url, name=name, log_path=log_path)
            finally:
                stop_group(worker)
        finally:
            with api.app_context():
                from app.platform.extensions import db

                db.session.remove()
                db.engine.dispose()


@pytest.fixture
def celery_worker_stack(backend, tmp_path, smtp):
    """A real worker on Redis with an API app sharing its database (see :func:`celery_stack`)."""
    with celery_stack(backend, tmp_path, smtp) as stack:
        yield stack
