"""Cache helpers that never fail a request: a cache error means "compute from the database".

Cached values live under explicit keys that embed a version token per namespace
(``lots``, ``admin_stats``). Writers call :func:`invalidate`, which replaces the token now and
again once the transaction commits, so a reader that cached between the two is dropped too:
a driver never sees a free count from before their own booking.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import cache, db

log = logging.getLogger(__name__)
T = TypeVar("T")

PENDING = "parkmind_cache_invalidations"
LOTS = "lots"
ADMIN_STATS = "admin_stats"
FILL_WAIT_SECONDS = 3.0  # how long a miss waits for another caller's value before computing
FILL_POLL_SECONDS = 0.01


def _version_key(namespace: str) -> str:
    return f"{namespace}:version"


def safe_get(key: str) -> Any:
    """``cache.get`` that answers None when the cache is unreachable."""
    try:
        return cache.get(key)
    except Exception as exc:  # noqa: BLE001 - any cache failure falls back to the database
        log.warning("cache get %s failed: %s", key, exc)
        return None


def safe_set(key: str, value: Any, timeout: int | None = None) -> bool:
    """``cache.set`` that swallows (and logs) cache failures."""
    try:
        return bool(cache.set(key, value, timeout=timeout))
    except Exception as exc:  # noqa: BLE001
        log.warning("cache set %s failed: %s", key, exc)
        return False


def _bump(namespace: str) -> None:
    safe_set(_version_key(namespace), uuid.uuid4().hex, timeout=0)


def _current_version(namespace: str) -> str | None:
    """The namespace's version token; the first caller to need one creates it (SET NX, so
    callers racing at a cold start agree on one), or None when the cache is unreachable."""
    key = _version_key(namespace)
    version = safe_get(key)
    if version is not None:
        return version
    candidate = uuid.uuid4().hex
    try:
        if cache.add(key, candidate, timeout=0):
            return candidate
    except Exception as exc:  # noqa: BLE001
        log.warning("cache add %s failed: %s", key, exc)
        return None
    return safe_get(key)


def is_shared() -> bool:
    """True when the cache is shared by every server process (Redis).

    A process-local cache (SimpleCache) cannot see another worker's invalidation, so it would
    serve stale free counts under gunicorn: without Redis, values are computed every time.
    """
    return "redis" in str(current_app.config.get("CACHE_TYPE", "")).lower()


def cached(namespace: str, params: Any, compute: Callable[[], T], timeout: int = 30) -> T:
    """The cached value for ``params`` in ``namespace``, or ``compute()`` (then stored).

    On a miss, one caller computes while the others wait for its value (see :func:`_fill`).
    """
    if not is_shared():
        return compute()
    version = _current_version(namespace)
    if version is None:
        return compute()
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[
        :32
    ]
    key = f"{namespace}:{version}:{digest}"
    value = safe_get(key)
    if value is not None:
        return value
    return _fill(key, compute, timeout)


def _fill(key: str, compute: Callable[[], T], timeout: int) -> T:
    """Compute a missing value once for every process sharing the cache.

    When a value expires or a write bumps the version, every request in flight misses at once;
    each computing the same page or dashboard would multiply the database work by the number of
    requests (a cache stampede). The first takes a short lock in Redis and computes; the others
    poll for its value and compute themselves only if it has not appeared after
    ``CACHE_FILL_WAIT_SECONDS`` (the holder is slow or gone; the lock expires on its own).
    """
    lock = f"{key}:filling"
    config = current_app.config
    wait = float(config.get("CACHE_FILL_WAIT_SECONDS", FILL_WAIT_SECONDS))
    if not _try_lock(lock, max(1, math.ceil(wait) + 1)):
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            time.sleep(FILL_POLL_SECONDS)
            value = safe_get(key)
            if value is not None:
                return value
        return compute()
    try:
        value = compute()
        safe_set(key, value, timeout=timeout)
        return value
    finally:
        _unlock(lock)


def _try_lock(lock: str, seconds: int) -> bool:
    """True when this caller now holds ``lock``; also True when the cache cannot tell (down, or
    a backend without atomic SET NX EX: then every caller computes, as without the lock)."""
    backend = cache.cache
    client = getattr(backend, "_write_client", None)
    if client is None or not hasattr(backend, "_get_prefix"):
        return True
    try:
        # One atomic command: a lock can never outlive its expiry (SETNX then EXPIRE could).
        return bool(client.set(f"{backend._get_prefix()}{lock}", b"1", nx=True, ex=seconds))
    except Exception as exc:  # noqa: BLE001 - no cache: compute as without one
        log.warning("cache lock %s failed: %s", lock, exc)
        return True


def _unlock(lock: str) -> None:
    try:
        cache.delete(lock)
    except Exception as exc:  # noqa: BLE001 - the lock expires on its own
        log.warning("cache unlock %s failed: %s", lock, exc)


def invalidate(*namespaces: str) -> None:
    """Drop cached values of ``namespaces`` now and once more after the commit."""
    if not is_shared():
        return
    for namespace in namespaces:
        _bump(namespace)
    db.session().info.setdefault(PENDING, set()).update(namespaces)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    for namespace in session.info.pop(PENDING, ()):
        _bump(namespace)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(PENDING, None)
