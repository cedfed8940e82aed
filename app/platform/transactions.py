"""Transactions are decided at the edge of each entry point, never by a service (services only
flush):

- a request: a write view is marked with :func:`transaction`, which runs it in one fresh write
  transaction, commits when it returns, rolls back when it raises and runs it again when it lost
  a lock race; :func:`commit_response` ends every other request (a read, or an error answered
  before the view ran) after the response is built;
- a Celery task: ``app.platform.celery_app``'s task class commits once when the task returns;
- a CLI command: ``app.platform.cli.command_edge``.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from flask import Response, g
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from app.platform import cache, queue
from app.platform.db_events import begin_immediate, is_sqlite, upgrade_unbegun
from app.platform.errors import HTTP_MESSAGES, error_response, is_connection_error
from app.platform.extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")

# MariaDB/MySQL: deadlock, lock wait timeout, record changed since last read.
RETRYABLE_MYSQL_CODES = {1213, 1205, 1020}
# PostgreSQL: serialization_failure, deadlock_detected, lock_not_available (lock_timeout, NOWAIT).
RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}


def is_retryable(exc: BaseException) -> bool:
    """True for lock conflicts that a fresh transaction can win."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in RETRYABLE_MYSQL_CODES:
        return True
    text = str(orig).lower()
    return "database is locked" in text or "database table is locked" in text


def run_in_transaction(
    work: Callable[[], T], *, attempts: int = 8, on_retry: Callable[[], None] | None = None
) -> T:
    """Run ``work`` and commit; on a deadlock or lock timeout, roll back and run it again."""
    for attempt in range(1, attempts + 1):
        try:
            result = work()
            db.session.commit()
            return result
        except (OperationalError, DBAPIError) as exc:
            db.session.rollback()
            if not is_retryable(exc) or attempt == attempts:
                raise
            g.transaction_retries = getattr(g, "transaction_retries", 0) + 1
            log.info("transaction retry %s after lock conflict: %s", attempt, exc.orig)
            if on_retry is not None:
                on_retry()
            time.sleep(random.uniform(0.005, 0.02) * attempt)
        except BaseException:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")


def begin_write() -> None:
    """Start the fresh write transaction a write view runs in.

    What the request did before its view (the token check) only read, so that transaction is
    discarded: on MariaDB the next consistent read then sees what committed meanwhile; SQLite
    takes its write lock at BEGIN (``BEGIN IMMEDIATE``), its equivalent of a row lock. A session
    bound to a connection by its caller (a test's outer transaction) is left to that caller.
    """
    session = db.session()
    if session.in_transaction() and not isinstance(session.get_bind(), Connection):
        if is_sqlite() and _holds_no_objects(session) and upgrade_unbegun(session):
            return  # the token check read outside it: the pending BEGIN becomes IMMEDIATE
        db.session.rollback()
    if is_sqlite():
        begin_immediate(db.session)


def _holds_no_objects(session) -> bool:
    """No ORM object is pending, changed, deleted or loaded in ``session``."""
    return not (session.new or session.dirty or session.deleted or len(session.identity_map))


WRITE_VIEW = "parkmind_write_view"  # attribute marking a view wrapped by ``transaction``


def transaction(
    view: Callable | None = None, *, keep_on: tuple[type[BaseException], ...] = ()
) -> Callable:
    """Mark a write view: it runs in one fresh write transaction, committed when it returns and
    rolled back when it raises; after a deadlock or lock timeout it runs again from the start.

    ``keep_on`` names errors whose work must survive the error answer (a reused refresh token
    revokes its session, a refused upload is marked deleted): that work is committed, then the
    error is answered as usual.
    """

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def run(*args, **kwargs):
            def work():
                begin_write()
                try:
                    return func(*args, **kwargs)
                except keep_on:
                    db.session.commit()
                    raise

            return run_in_transaction(work)

        setattr(run, WRITE_VIEW, True)
        return run

    return decorate(view) if view is not None else decorate


def safe_rollback() -> None:
    """Roll back; when the connection died meanwhile (killed, server restart), discard it."""
    try:
        db.session.rollback()
    except DBAPIError as exc:
        # The server already dropped the transaction with the connection: nothing is lost, and
        # the request keeps its own answer instead of turning into a 500.
        log.warning("rollback failed, discarding the connection: %s", exc.orig)
        db.session().invalidate()


# Statements that change nothing; anything else (or an unknown history) counts as a write.
READ_ONLY_PREFIXES = ("SELECT", "BEGIN")
WROTE = "parkmind_wrote"


@event.listens_for(Engine, "begin")
def _transaction_began(connection) -> None:
    connection.info[WROTE] = False


@event.listens_for(Engine, "before_cursor_execute")
def _statement(connection, cursor, statement, parameters, context, executemany) -> None:
    if not statement.lstrip()[:6].upper().startswith(READ_ONLY_PREFIXES):
        connection.info[WROTE] = True


def _read_only_connections(session) -> list | None:
    """The connection of the session's transaction when it has provably only read (SELECTs
    since it began), holds no ORM objects and nothing waits for its commit (tasks, cache
    bumps); else None."""
    if not _holds_no_objects(session):
        return None  # ORM objects stay attached (and expired) as after a COMMIT: normal path
    if session.info.get(queue.PENDING) or session.info.get(cache.PENDING):
        return None
    transaction = session.get_transaction()
    if transaction is None or transaction.nested:
        return None
    if isinstance(session.get_bind(), Connection):
        return None  # a connection the session does not own (bound by the caller): leave it
    connection = session.connection()  # the transaction's own connection (one database)
    return [connection] if connection.info.get(WROTE, True) is False else None


def _end_read(session, connections: list) -> None:
    """End a read-only transaction with one ROLLBACK per connection.

    COMMIT (or a rollback followed by the close) makes the pool send its reset ROLLBACK as
    well: two round trips. A connection closed inside its transaction rolls back once.
    """
    try:
        for connection in connections:
            connection.close()
        session.close()
    except DBAPIError as exc:
        log.warning("ending a read-only transaction failed: %s", exc.orig)
        safe_rollback()


def commit_response(response: Response) -> Response:
    """Commit the request's work when it succeeded; roll back otherwise."""
    if not db.session.registry.has():
        return response  # the request never used the database
    session = db.session()
    if not (session.in_transaction() or session.new or session.dirty or session.deleted):
        # Nothing began since the last commit (or nothing at all): no COMMIT round trip.
        queue.send_ready_tasks()
        return response
    if response.status_code >= 400:
        safe_rollback()
        return response
    connections = None if response.is_streamed else _read_only_connections(session)
    if connections is not None:
        _end_read(session, connections)
        queue.send_ready_tasks()
        return response
    try:
        db.session.commit()
    except DBAPIError as exc:
        safe_rollback()
        if is_connection_error(exc) or is_retryable(exc):
            log.warning("commit failed, database unavailable: %s", exc.orig)
            return error_response(
                503, "database_unavailable", HTTP_MESSAGES[503], headers={"Retry-After": "1"}
            )
        log.exception("commit failed")
        return error_response(500, "internal_error", HTTP_MESSAGES[500])
    queue.send_ready_tasks()
    return response
