"""The token check's answer kept in Redis, so an authenticated request reads no SQL.

The database stays the source of truth (``auth_sessions.revoked_at``, ``users.is_active`` and
``users.role``); Redis only remembers, per login session, that the database said "live, user U,
role R". Each such record carries the versions it was read under:

- ``auth:user:{id}``, a random token replaced whenever anything that decides a session's
  validity changes for that user (a session revoked or deleted, the user deactivated, erased,
  deleted, or their role changed);
- ``auth:epoch``, a random token replaced to void every record at once (a bulk change whose users
  are not known, or a process that could not reach Redis and may have missed a change).

A request trusts a record only when both versions still match, all read in one ``MGET``; anything
else (no record, another version, Redis down or not configured) runs the SQL check, and a live
answer is stored under the versions read *before* that SQL: a revocation committed after the
read replaces the version after its commit, so a record filled from older data never matches.

Every change is found by SQLAlchemy's session events (the unit of work and bulk ORM statements),
not by call sites, so no revocation path can forget it. The versions are replaced once when the
change is flushed and again after the commit (as :mod:`app.platform.cache` does), before the
response leaves: the revoked token's next request, on any process, sees the new version.

A process that fails to reach Redis (a write it may have missed) voids every record (``epoch``)
the first time Redis answers again, before trusting any. Records expire after
``SESSION_CHECK_CACHE_SECONDS`` (60 s), which bounds the one case nothing here can see: a
revocation written while Redis did not answer that process, then Redis answering other processes
that never saw it fail. Without Redis nothing is cached and every request runs the SQL check.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import redis
from flask import current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session

from app.accounts.models import AuthSession, User
from app.platform import cache
from app.platform.extensions import db

log = logging.getLogger(__name__)

PENDING = "parkmind_session_changes"  # Session.info: user ids (or EVERYONE) to void on commit
EVERYONE = 0  # not a user id: void every record
STATE = "parkmind_session_cache"  # app.extensions: this app's Redis client and health
RECORD_SECONDS = 60
VERSION_SECONDS = 24 * 3600  # a user's version outlives their records; when it expires, the
# next check makes a new one and older records simply stop matching
REDIS_TIMEOUT_SECONDS = 1.0
RETRY_AFTER_SECONDS = 2.0  # after a failure, requests run the SQL check this long before retrying

# What decides whether a session's tokens work: a change to any of these voids the user's records.
SESSION_FIELDS = ("id", "user_id", "revoked_at")
USER_FIELDS = ("id", "role", "is_active", "erased_at")


@dataclass(frozen=True)
class Lookup:
    """What Redis said about a session: its role when the record is current; else the versions a
    fresh record must carry (None when Redis did not answer: then nothing is stored)."""

    role: str | None = None
    versions: tuple[bytes | None, bytes | None] | None = None


MISS = Lookup()


class _State:
    """Per app (per process in production): the client, and whether Redis may have missed a
    change this process made."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        self.unsure = False  # a Redis call failed: void every record before trusting one
        self.retry_at = 0.0


def mode() -> str | None:
    """Which token checks this app remembers: ``"all"`` or None.

    None without Redis as the shared cache or with ``SESSION_CHECK_CACHE=off``; ``"all"`` with
    ``on``, or ``auto`` (the default) on a database server. On SQLite ``auto`` is None: the check
    is an in-process query, cheaper than a Redis round trip (``GET /lots/{id}`` 0.77 against
    0.86 ms of CPU, measured in-process; ``POST /parking-events`` 0.71 against 0.85 ms), and a
    write view's check runs before its transaction begins, so it opens none of its own (see
    :data:`app.platform.db_events.BEFORE_BEGIN`)."""
    if not cache.is_shared():
        return None
    setting = current_app.config.get("SESSION_CHECK_CACHE", "auto")
    if setting == "auto":
        return None if db.engine.dialect.name == "sqlite" else "all"
    return "all" if setting == "on" else None


def enabled() -> bool:
    """Whether this app remembers any token check (see :func:`mode`)."""
    return mode() is not None


def _state() -> _State | None:
    """This app's state, or None when token checks are not remembered (:func:`mode`)."""
    extensions = current_app.extensions
    state = extensions.get(STATE)
    if state is None:
        # Decided once per app: False when token checks are not remembered.
        remembered = mode()
        state = extensions[STATE] = (
            _State(current_app.config["CACHE_REDIS_URL"]) if remembered else False
        )
    return state or None


def _keys(session_id: str, user_id: int) -> tuple[str, str, str]:
    prefix = current_app.config["CACHE_KEY_PREFIX"]
    return (
        f"{prefix}auth:epoch",
        f"{prefix}auth:user:{user_id}",
        f"{prefix}auth:session:{session_id}",
    )


def _record_seconds() -> int:
    return int(current_app.config.get("SESSION_CHECK_CACHE_SECONDS", RECORD_SECONDS))


def _failed(state: _State, what: str, exc: Exception) -> None:
    state.unsure = True
    state.retry_at = time.monotonic() + RETRY_AFTER_SECONDS
    log.warning("session check cache: %s failed: %s", what, exc)


def _void_everything(state: _State) -> None:
    prefix = current_app.config["CACHE_KEY_PREFIX"]
    state.client.set(f"{prefix}auth:epoch", uuid.uuid4().hex)


def read(session_id: str, user_id: int) -> Lookup:
    """The cached answer for this session (one ``MGET``), or a miss."""
    state = _state()
    if state is None or time.monotonic() < state.retry_at:
        return MISS
    epoch_key, user_key, session_key = _keys(session_id, user_id)
    try:
        if state.unsure:
            # This process could not reach Redis a moment ago: a change it made may be missing
            # there, so no record from before counts.
            _void_everything(state)
            state.unsure = False
        epoch, version, record = state.client.mget(epoch_key, user_key, session_key)
    except redis.RedisError as exc:
        _failed(state, "read", exc)
        return MISS
    if record is not None and epoch is not None and version is not None:
        parts = record.split(b":", 3)
        if len(parts) == 4 and parts[:3] == [epoch, version, str(user_id).encode()]:
            return Lookup(role=parts[3].decode())
    return Lookup(versions=(epoch, version))


def store(session_id: str, user_id: int, role: str, lookup: Lookup) -> None:
    """Remember that the database found this session live, under the versions read before."""
    state = _state()
    if state is None or lookup.versions is None:
        return
    epoch_key, user_key, session_key = _keys(session_id, user_id)
    epoch, version = lookup.versions
    try:
        if epoch is None or version is None:
            # First check since the versions were made or expired: create the missing ones. Only
            # a version this call created counts (NX): one that appeared since the read may be a
            # revocation's, newer than the SQL answer, so then nothing is stored.
            epoch = epoch or uuid.uuid4().hex.encode()
            version = version or uuid.uuid4().hex.encode()
            with state.client.pipeline(transaction=False) as pipe:
                if lookup.versions[0] is None:
                    pipe.set(epoch_key, epoch, nx=True)
                if lookup.versions[1] is None:
                    pipe.set(user_key, version, nx=True, ex=VERSION_SECONDS)
                if not all(pipe.execute()):
                    return
        record = b":".join((epoch, version, str(user_id).encode(), role.encode()))
        state.client.set(session_key, record, ex=_record_seconds())
    except redis.RedisError as exc:
        _failed(state, "store", exc)


def _void(user_ids: Iterable[int]) -> None:
    """Replace the versions of ``user_ids`` (EVERYONE: the epoch): their records stop counting."""
    state = _state()
    if state is None:
        return
    prefix = current_app.config["CACHE_KEY_PREFIX"]
    try:
        with state.client.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                if user_id == EVERYONE:
                    pipe.set(f"{prefix}auth:epoch", uuid.uuid4().hex)
                else:
                    pipe.set(f"{prefix}auth:user:{user_id}", uuid.uuid4().hex, ex=VERSION_SECONDS)
            pipe.execute()
    except redis.RedisError as exc:
        log.error("session check cache: a revocation could not be written to Redis: %s", exc)
        _failed(state, "revocation", exc)


def sessions_changed(session: Session, user_ids: Iterable[int]) -> None:
    """The sessions of ``user_ids`` may have changed in this transaction: void their records now
    and again once it commits."""
    if not has_app_context() or _state() is None:
        return
    ids = {user_id for user_id in user_ids if user_id is not None}
    if not ids:
        return
    session.info.setdefault(PENDING, set()).update(ids)
    _void(ids)


def _changed(obj: object, fields: tuple[str, ...]) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in fields)


def _old_and_new(obj: object, name: str) -> set[int]:
    history = inspect(obj).attrs[name].history
    return {value for value in (*history.deleted, *history.unchanged, *history.added) if value}


@event.listens_for(Session, "before_flush")
def _flushing(session: Session, flush_context, instances) -> None:
    if not has_app_context() or _state() is None:
        return
    users: set[int] = set()
    for obj in session.deleted:
        if isinstance(obj, AuthSession):
            users |= _old_and_new(obj, "user_id")
        elif isinstance(obj, User):
            users |= _old_and_new(obj, "id")
    for obj in session.dirty:
        if isinstance(obj, AuthSession) and _changed(obj, SESSION_FIELDS):
            users |= _old_and_new(obj, "user_id")
        elif isinstance(obj, User) and _changed(obj, USER_FIELDS):
            users |= _old_and_new(obj, "id")
    sessions_changed(session, users)


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state: ORMExecuteState) -> None:
    # UPDATE/DELETE statements on sessions or users skip the unit of work. The statement names
    # the user it touches with ``execution_options(session_user_id=...)``; otherwise every
    # record is voided (safe, and one SQL check per live session afterwards).
    if not (state.is_update or state.is_delete) or state.bind_mapper is None:
        return
    if state.bind_mapper.class_ not in (AuthSession, User):
        return
    user_id = state.execution_options.get("session_user_id", EVERYONE)
    sessions_changed(state.session, {user_id})


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    ids = session.info.pop(PENDING, None)
    if ids and has_app_context():
        _void(ids)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(PENDING, None)
