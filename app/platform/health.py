"""Readiness checks of the services ParkMind depends on."""

from __future__ import annotations

import time

import redis
from flask import current_app
from sqlalchemy import text

from app.platform.extensions import db
from app.platform.queue import backlog


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # noqa: BLE001 - any failure means "down", reported by name
        return {"status": "down", "error": type(exc).__name__}
    return {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def _check_database() -> None:
    db.session.execute(text("SELECT 1"))
    db.session.rollback()


def _ping_redis(url: str) -> None:

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    finally:
        client.close()


def readiness() -> dict:
    """Each check's state; overall ``ok`` only when every configured dependency answers."""
    config = current_app.config
    checks = {"database": _timed(_check_database)}
    if config.get("REDIS_URL"):
        checks["redis"] = _timed(lambda: _ping_redis(config["REDIS_URL"]))
    broker = config.get("CELERY_BROKER_URL")
    if broker and broker != config.get("REDIS_URL") and broker.startswith("redis"):
        checks["broker"] = _timed(lambda: _ping_redis(broker))
    status = "ok" if all(c["status"] == "ok" for c in checks.values()) else "unavailable"
    if checks["database"]["status"] == "ok":
        # Reported, not a reason to take this instance out of service: a stuck relay or a broker
        # outage shows here as a growing backlog.
        outbox = backlog()
        delayed = outbox["oldest_age_seconds"] > config["OUTBOX_DELAYED_AFTER"].total_seconds()
        checks["outbox"] = {"status": "delayed" if delayed else "ok", **outbox}
        db.session.rollback()
    return {"status": status, "checks": checks}
