"""Engine settings that depend on the database: SQLite pragmas and explicit transactions."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from app.platform.extensions import db


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
        # for allocation, correct across processes sharing the file.
        if connection.get_execution_options().get("sqlite_immediate"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def register(app: Flask) -> None:
    """Attach dialect-specific listeners once the engine exists (lazily, on first use)."""
    with app.app_context():
        engine = db.engine
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


def is_sqlite() -> bool:
    """True when the bound database is SQLite."""
    return db.engine.dialect.name == "sqlite"
