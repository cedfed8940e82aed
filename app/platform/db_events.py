"""Engine settings that depend on the database: SQLite pragmas and explicit transactions."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from app.platform.extensions import db

PENDING_BEGIN = "parkmind_pending_begin"  # connection info: the BEGIN its first statement sends
BEFORE_BEGIN = "parkmind_before_begin"  # execution option: run outside the pending transaction


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, connection_record):
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (pysqlite's implicit
        # BEGIN breaks locking), then turn on WAL, foreign keys and a busy timeout.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        # ``sqlite_immediate`` takes the write lock at BEGIN: SQLite's equivalent of a row lock
        # for allocation, correct across processes sharing the file. The BEGIN itself waits for
        # the transaction's first statement, so the Python work a view does before it (parsing,
        # checks, building values) runs outside the lock; what the transaction reads and writes
        # is still all under it.
        immediate = connection.get_execution_options().get("sqlite_immediate")
        connection.info[PENDING_BEGIN] = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "before_cursor_execute")
    def begin_first(connection, cursor, statement, parameters, context, executemany):
        if context is not None and context.execution_options.get(BEFORE_BEGIN):
            return  # a standalone read (autocommit); the transaction begins with the next one
        pending = connection.info.pop(PENDING_BEGIN, None)
        if pending is not None:
            # An ordinary statement (seen by every listener); a lock timeout is the usual
            # OperationalError, retried by the transaction edge.
            connection.exec_driver_sql(pending)

    def forget(connection, *args):
        # Ended before any statement: nothing was begun, so COMMIT/ROLLBACK are no-ops.
        connection.info.pop(PENDING_BEGIN, None)

    event.listen(engine, "commit", forget)
    event.listen(engine, "rollback", forget)

    @event.listens_for(engine, "checkin")
    def returned(dbapi_connection, connection_record):
        connection_record.info.pop(PENDING_BEGIN, None)


def _replace_unpingable(engine: Engine) -> None:
    @event.listens_for(engine, "handle_error")
    def unusable(context) -> None:
        # A pooled connection that fails its checkout ping is unusable, whatever the error: a
        # PostgreSQL connection whose server was killed mid-query can come back from the pool
        # with a command still marked in flight, and psycopg refuses the ping's first step
        # ("can't change 'autocommit' now"), which SQLAlchemy does not count as a disconnect.
        # As one, the pool replaces the connection instead of failing the request with a 500.
        if context.is_pre_ping:
            context.is_disconnect = True


def register(app: Flask) -> None:
    """Attach dialect-specific listeners once the engine exists (lazily, on first use)."""
    with app.app_context():
        engine = db.engine
        _replace_unpingable(engine)
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)


def begin_immediate(session) -> None:
    """Start ``session``'s SQLite transaction with the write lock (no-op inside an outer one)."""
    session = session() if callable(session) else session  # accept the scoped_session too
    bind = session.get_bind()
    if isinstance(bind, Connection) or session.in_transaction():
        # Already inside a transaction (a test's outer connection, or work done earlier):
        # the caller's transaction decides.
        return
    session.connection(execution_options={"sqlite_immediate": True})


def upgrade_unbegun(session) -> bool:
    """Make the session's SQLite transaction a write one (``BEGIN IMMEDIATE``) when nothing has
    begun it yet (only :data:`BEFORE_BEGIN` reads ran); False when it has begun."""
    connection = session.connection()
    if connection.info.get(PENDING_BEGIN) is None:
        return False
    connection.info[PENDING_BEGIN] = "BEGIN IMMEDIATE"
    return True


def is_sqlite() -> bool:
    """True when the bound database is SQLite."""
    return db.engine.dialect.name == "sqlite"
