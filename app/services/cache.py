"""Cache helpers that never fail a request: a cache error means "compute from the database".

Cached values live in Redis under explicit keys that embed a version token per namespace
(``lots``, ``admin_stats``). Writers call :func:`invalidate`, which replaces the token now and
again once the transaction commits, so a reader that cached between the two is dropped too:
a driver never sees a free count from before their own booking.

A cached read is one round trip: a small Lua script reads the namespace's version and the value
under it together. Values are serialized by the configured Flask-Caching backend (its Redis
client, key prefix and serializer are used directly); without Redis nothing is cached.
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

# KEYS[1]: the namespace's version key; ARGV: the value key's parts around the version.
# Answers {} without a version, {version} on a miss, {version, value} on a hit. (The value key
# is built in the script: fine on one Redis server, which is what the app is configured with.)
LOOKUP_SCRIPT = """
local version = redis.call('GET', KEYS[1])
if not version then return {} end
local value = redis.call('GET', ARGV[1] .. version .. ARGV[2])
if not value then return {version} end
return {version, value}
"""


def _version_key(namespace: str) -> str:
    return f"{namespace}:version"


def _redis() -> tuple[Any, Any, str]:
    """The Redis backend behind Flask-Caching: (backend, client, key prefix)."""
    backend = cache.cache
    return backend, backend._write_client, backend._get_prefix()


def _lookup(backend: Any, client: Any):
    """The lookup script registered with ``client`` (EVALSHA, loaded again if Redis lost it)."""
    script = getattr(backend, "_parkmind_lookup", None)
    if script is None or script.registered_client is not client:
        script = backend._parkmind_lookup = client.register_script(LOOKUP_SCRIPT)
    return script


def safe_get(key: str) -> Any:
    """The cached value under ``key``, or None (also when the cache is unreachable)."""
    try:
        backend, client, prefix = _redis()
        return backend.serializer.loads(client.get(f"{prefix}{key}"))
    except Exception as exc:  # noqa: BLE001 - any cache failure falls back to the database
        log.warning("cache get %s failed: %s", key, exc)
        return None


def safe_set(key: str, value: Any, timeout: int | None = None) -> bool:
    """Store ``value`` under ``key`` for ``timeout`` seconds; False (logged) when it failed."""
    try:
        backend, client, prefix = _redis()
        return bool(client.set(f"{prefix}{key}", backend.serializer.dumps(value), ex=timeout))
    except Exception as exc:  # noqa: BLE001
        log.warning("cache set %s failed: %s", key, exc)
        return False


def _bump(namespace: str) -> None:
    """A new version token: every value cached under the old one is unreachable from now on."""
    try:
        _backend, client, prefix = _redis()
        client.set(f"{prefix}{_version_key(namespace)}", uuid.uuid4().hex)
    except Exception as exc:  # noqa: BLE001
        log.warning("cache invalidation of %s failed: %s", namespace, exc)


def _token(raw: bytes | None) -> str | None:
    """A stored version token, or None unless it is one (32 hex digits)."""
    if raw is None or len(raw) != 32:
        return None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    return text if all(char in "0123456789abcdef" for char in text) else None


def _create_version(namespace: str) -> str | None:
    """The namespace's version token, created by the first caller that needs one (SET NX, so
    callers racing at a cold start agree on one); a stored value that is not a token (another
    format) is replaced. None when the cache is unreachable."""
    try:
        _backend, client, prefix = _redis()
        key = f"{prefix}{_version_key(namespace)}"
        candidate = uuid.uuid4().hex
        if client.set(key, candidate, nx=True):
            return candidate
        version = _token(client.get(key))
        if version is None:
            client.set(key, candidate)
            version = candidate
    except Exception as exc:  # noqa: BLE001
        log.warning("cache version of %s failed: %s", namespace, exc)
        return None
    return version


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
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[
        :32
    ]
    try:
        backend, client, prefix = _redis()
        found = _lookup(backend, client)(
            keys=[f"{prefix}{_version_key(namespace)}"],
            args=[f"{prefix}{namespace}:", f":{digest}"],
        )
    except Exception as exc:  # noqa: BLE001 - any cache failure falls back to the database
        log.warning("cache lookup in %s failed: %s", namespace, exc)
        return compute()
    if len(found) == 2 and _token(found[0]) is not None:
        value = backend.serializer.loads(found[1])
        if value is not None:
            return value
    version = (_token(found[0]) if found else None) or _create_version(namespace)
    if version is None:
        return compute()
    return _fill(f"{namespace}:{version}:{digest}", compute, timeout)


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
    """True when this caller now holds ``lock``; also True when the cache cannot tell (down):
    then every caller computes, as without the lock."""
    try:
        _backend, client, prefix = _redis()
        # One atomic command: a lock can never outlive its expiry (SETNX then EXPIRE could).
        return bool(client.set(f"{prefix}{lock}", b"1", nx=True, ex=seconds))
    except Exception as exc:  # noqa: BLE001 - no cache: compute as without one
        log.warning("cache lock %s failed: %s", lock, exc)
        return True


def _unlock(lock: str) -> None:
    try:
        _backend, client, prefix = _redis()
        client.delete(f"{prefix}{lock}")
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
