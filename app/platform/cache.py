"""Cache helpers that never fail a request: a cache error means "compute from the database".

Cached values live in Redis, each tagged with the version token of its namespace (``lots``,
``admin_stats``). Writers call :func:`invalidate`; once the transaction commits, the tokens of
every namespace it named are replaced in one ``MSET`` (one round trip, before the response is
sent): a driver never sees a free count from before their own booking. A reader that computed
from the database before the commit stored its value under the token it read before computing,
which is no longer current, so that value is never served.

Each value is stored with the version it was computed under (two keys written in one MULTI), so
a cached read is one MGET of the namespace's version, the value's version and the value: a hit
when the two versions match. Redis is used through a redis-py client of the cache's own
(``CACHE_REDIS_URL``, keys under ``CACHE_KEY_PREFIX``): no caching library's internals. A
rendered body is stored as it is (read back without a copy); other values are pickled behind
``!``, the format Flask-Caching's Redis backend wrote, so values from before still read. Without
Redis nothing is cached (see :func:`is_shared`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import pickle
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import redis
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.platform.extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")

PENDING = "parkmind_cache_invalidations"
LOTS = "lots"
ADMIN_STATS = "admin_stats"
FILL_WAIT_SECONDS = 3.0  # how long a miss waits for another caller's value before computing
FILL_POLL_SECONDS = 0.01
PICKLED = b"!"


def _version_key(namespace: str) -> str:
    return f"{namespace}:version"


def _dumps(value: Any) -> bytes:
    """Bytes (a rendered response body) as they are; anything else pickled behind ``!``."""
    if isinstance(value, bytes) and not value.startswith(PICKLED):
        return value
    return PICKLED + pickle.dumps(value)


def _loads(raw: bytes | None) -> Any:
    if raw is None:
        return None
    if raw.startswith(PICKLED):
        try:
            return pickle.loads(memoryview(raw)[1:])  # noqa: S301 - our own values in our Redis
        except Exception:  # noqa: BLE001 - unreadable: a miss
            return None
    return raw


REDIS_CLIENT = "parkmind_cache_redis"  # app.extensions key of the app's cache client


def redis_client() -> redis.Redis:
    """This app's Redis client for the cache (made on first use; it connects lazily)."""
    client = current_app.extensions.get(REDIS_CLIENT)
    if client is None:
        client = redis.Redis.from_url(current_app.config["CACHE_REDIS_URL"])
        current_app.extensions[REDIS_CLIENT] = client
    return client


def _redis() -> tuple[redis.Redis, str]:
    """The cache's Redis client and the prefix of every key it writes."""
    return redis_client(), current_app.config["CACHE_KEY_PREFIX"]


def _value_keys(namespace: str, digest: str) -> tuple[str, str]:
    """The keys of a cached value and of the version it was computed under."""
    return f"{namespace}:{digest}", f"{namespace}:{digest}:version"


def _read(namespace: str, digest: str, version: str) -> Any:
    """The value cached for ``digest`` if it was computed under ``version``, else None (also
    when the cache is unreachable)."""
    data_key, tag_key = _value_keys(namespace, digest)
    try:
        client, prefix = _redis()
        tag, raw = client.mget(f"{prefix}{tag_key}", f"{prefix}{data_key}")
    except Exception as exc:  # noqa: BLE001 - any cache failure falls back to the database
        log.warning("cache read of %s failed: %s", data_key, exc)
        return None
    return _loads(raw) if tag == version.encode() else None


def _store(namespace: str, digest: str, version: str, value: Any, timeout: int) -> bool:
    """Cache ``value`` with the version it was computed under, both keys at once (MULTI), for
    ``timeout`` seconds; False (logged) when it failed."""
    data_key, tag_key = _value_keys(namespace, digest)
    try:
        client, prefix = _redis()
        with client.pipeline(transaction=True) as pipe:
            pipe.set(f"{prefix}{data_key}", _dumps(value), ex=timeout)
            pipe.set(f"{prefix}{tag_key}", version, ex=timeout)
            pipe.execute()
        return True
    except Exception as exc:  # noqa: BLE001
        log.warning("cache store of %s failed: %s", data_key, exc)
        return False


def _bump(*namespaces: str) -> None:
    """New version tokens, in one round trip: every value cached under the old ones is
    unreachable from now on."""
    if not namespaces:
        return
    try:
        client, prefix = _redis()
        client.mset({f"{prefix}{_version_key(name)}": uuid.uuid4().hex for name in namespaces})
    except Exception as exc:  # noqa: BLE001
        log.warning("cache invalidation of %s failed: %s", ", ".join(namespaces), exc)


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
        client, prefix = _redis()
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


@dataclass(frozen=True)
class Cached:
    """A value a service answers from the cache: the view returns it as it is, and the response
    decorator asks for its rendered body (:meth:`rendered`), which is what the cache keeps."""

    namespace: str
    params: Any
    compute: Callable[[], Any]
    timeout: int = 30

    def value(self) -> Any:
        """The value itself (cached as a Python object)."""
        return cached(self.namespace, self.params, self.compute, self.timeout)

    def rendered(self, render: Callable[[Any], T]) -> T:
        """The value as ``render`` renders it (cached rendered)."""
        params = {"params": self.params, "rendered": True}
        return cached(self.namespace, params, lambda: render(self.compute()), self.timeout)


def cached(namespace: str, params: Any, compute: Callable[[], T], timeout: int = 30) -> T:
    """The cached value for ``params`` in ``namespace``, or ``compute()`` (then stored).

    On a miss, one caller computes while the others wait for its value (see :func:`_fill`).
    """
    if not is_shared():
        return compute()
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[
        :32
    ]
    data_key, tag_key = _value_keys(namespace, digest)
    try:
        client, prefix = _redis()
        current, tag, raw = client.mget(
            f"{prefix}{_version_key(namespace)}", f"{prefix}{tag_key}", f"{prefix}{data_key}"
        )
    except Exception as exc:  # noqa: BLE001 - any cache failure falls back to the database
        log.warning("cache lookup in %s failed: %s", namespace, exc)
        return compute()
    version = _token(current)
    if version is not None and tag == current:
        value = _loads(raw)
        if value is not None:
            return value
    version = version or _create_version(namespace)
    if version is None:
        return compute()
    return _fill(namespace, digest, version, compute, timeout)


def _fill(namespace: str, digest: str, version: str, compute: Callable[[], T], timeout: int) -> T:
    """Compute a missing value once for every process sharing the cache.

    When a value expires or a write bumps the version, every request in flight misses at once;
    each computing the same page or dashboard would multiply the database work by the number of
    requests (a cache stampede). The first takes a short lock in Redis and computes; the others
    poll for its value and compute themselves only if it has not appeared after
    ``CACHE_FILL_WAIT_SECONDS`` (the holder is slow or gone; the lock expires on its own).
    """
    lock = f"{namespace}:{digest}:{version}:filling"
    config = current_app.config
    wait = float(config.get("CACHE_FILL_WAIT_SECONDS", FILL_WAIT_SECONDS))
    if not _try_lock(lock, max(1, math.ceil(wait) + 1)):
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            time.sleep(FILL_POLL_SECONDS)
            value = _read(namespace, digest, version)
            if value is not None:
                return value
        return compute()
    try:
        value = compute()
        _store(namespace, digest, version, value, timeout)
        return value
    finally:
        _unlock(lock)


def _try_lock(lock: str, seconds: int) -> bool:
    """True when this caller now holds ``lock``; also True when the cache cannot tell (down):
    then every caller computes, as without the lock."""
    try:
        client, prefix = _redis()
        # One atomic command: a lock can never outlive its expiry (SETNX then EXPIRE could).
        return bool(client.set(f"{prefix}{lock}", b"1", nx=True, ex=seconds))
    except Exception as exc:  # noqa: BLE001 - no cache: compute as without one
        log.warning("cache lock %s failed: %s", lock, exc)
        return True


def _unlock(lock: str) -> None:
    try:
        client, prefix = _redis()
        client.delete(f"{prefix}{lock}")
    except Exception as exc:  # noqa: BLE001 - the lock expires on its own
        log.warning("cache unlock %s failed: %s", lock, exc)


def invalidate(*namespaces: str) -> None:
    """Drop cached values of ``namespaces`` once the transaction commits (nothing when it rolls
    back: the values still hold)."""
    if not is_shared():
        return
    db.session().info.setdefault(PENDING, set()).update(namespaces)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    _bump(*sorted(session.info.pop(PENDING, ())))


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(PENDING, None)
