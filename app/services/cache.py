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
    version = safe_get(_version_key(namespace))
    if version is None:
        version = uuid.uuid4().hex
        if not safe_set(_version_key(namespace), version, timeout=0):
            return None
    return version


def is_shared() -> bool:
    """True when the cache is shared by every server process (Redis).

    A process-local cache (SimpleCache) cannot see another worker's invalidation, so it would
    serve stale free counts under gunicorn: without Redis, values are computed every time.
    """
    return "redis" in str(current_app.config.get("CACHE_TYPE", "")).lower()


def cached(namespace: str, params: Any, compute: Callable[[], T], timeout: int = 30) -> T:
    """The cached value for ``params`` in ``namespace``, or ``compute()`` (then stored)."""
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
    value = compute()
    safe_set(key, value, timeout=timeout)
    return value


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
