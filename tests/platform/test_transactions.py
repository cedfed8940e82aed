"""The write edge (``@transaction``): one fresh transaction per write view, committed on success,
rolled back on error, run again after a lock conflict; ``keep_on`` errors keep their work. And
every write route of the API is marked as one."""

from __future__ import annotations

import pytest
from flask.views import MethodView
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app.lots.models import Lot
from app.platform.errors import Conflict
from app.platform.extensions import db
from app.platform.transactions import WRITE_VIEW, transaction
from tests.factories import LotFactory

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class Deadlock(Exception):
    """What PyMySQL raises for error 1213."""

    def __init__(self) -> None:
        super().__init__(1213, "Deadlock found when trying to get lock")


def _rename(lot_id: int, name: str) -> None:
    db.session.get(Lot, lot_id).name = name
    db.session.flush()


def _name(lot_id: int) -> str:
    db.session.expire_all()
    return db.session.scalar(select(Lot.name).where(Lot.id == lot_id))


@pytest.mark.usefixtures("db")
def test_work_is_committed_when_the_view_returns(app):
    lot = LotFactory(name="before")

    @transaction
    def view():
        _rename(lot.id, "after")
        return "done"

    with app.test_request_context():
        assert view() == "done"
        db.session.rollback()  # nothing pending is left to lose: the edge committed
        assert _name(lot.id) == "after"


@pytest.mark.usefixtures("db")
def test_work_is_rolled_back_when_the_view_raises(app):
    lot = LotFactory(name="before")

    @transaction
    def view():
        _rename(lot.id, "after")
        raise Conflict("no")

    with app.test_request_context():
        with pytest.raises(Conflict):
            view()
        assert _name(lot.id) == "before"


@pytest.mark.usefixtures("db")
def test_keep_on_errors_keep_their_work(app):
    lot = LotFactory(name="before")

    @transaction(keep_on=(Conflict,))
    def view():
        _rename(lot.id, "kept")
        raise Conflict("refused, but what was done stays")

    with app.test_request_context():
        with pytest.raises(Conflict):
            view()
        db.session.rollback()
        assert _name(lot.id) == "kept"


@pytest.mark.usefixtures("db")
def test_a_lock_conflict_runs_the_view_again(app):
    lot = LotFactory(name="before")
    calls = []

    @transaction
    def view():
        calls.append(1)
        _rename(lot.id, f"try {len(calls)}")
        if len(calls) == 1:
            raise OperationalError("UPDATE lots", {}, Deadlock())
        return len(calls)

    with app.test_request_context():
        assert view() == 2
        assert _name(lot.id) == "try 2"


@pytest.mark.usefixtures("db")
def test_other_database_errors_are_not_retried(app):
    calls = []

    @transaction
    def view():
        calls.append(1)
        raise OperationalError("SELECT 1", {}, Exception(2013, "Lost connection"))

    with app.test_request_context(), pytest.raises(OperationalError):
        view()
    assert calls == [1]


def _write_views(app):
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        view_class = getattr(view, "view_class", None)
        for method in sorted((rule.methods or set()) & WRITE_METHODS):
            func = getattr(view_class, method.lower(), None) if view_class else view
            if view_class is not None and not issubclass(view_class, MethodView):
                continue
            yield f"{method} {rule.rule}", func


def test_every_write_route_runs_in_the_write_edge(app):
    views = dict(_write_views(app))
    assert len(views) >= 30
    unmarked = sorted(name for name, func in views.items() if not getattr(func, WRITE_VIEW, False))
    assert unmarked == []


@pytest.mark.parametrize(
    ("error", "retryable", "connection"),
    [
        ("SerializationFailure", True, False),
        ("DeadlockDetected", True, False),
        ("LockNotAvailable", True, False),
        ("AdminShutdown", False, True),  # pg_terminate_backend, a server restart
        ("QueryCanceled", False, True),  # statement_timeout
        ("TooManyConnections", False, True),
        ("UniqueViolation", False, False),
        ("OperationalError", False, True),  # no server answer: refused, reset, timed out
    ],
)
def test_postgresql_errors_are_classified_by_sqlstate(error, retryable, connection):
    import psycopg
    from sqlalchemy.exc import DBAPIError

    from app.platform.errors import is_connection_error
    from app.platform.transactions import is_retryable

    orig = getattr(psycopg.errors, error, None) or getattr(psycopg, error)
    wrapped = DBAPIError.instance("UPDATE lots", {}, orig("x"), psycopg.Error)
    assert is_retryable(wrapped) is retryable
    assert is_connection_error(wrapped) is connection


def test_a_real_postgresql_lock_timeout_is_retryable():
    import psycopg
    import sqlalchemy as sa

    from app.platform.transactions import is_retryable
    from tests.conftest import create_database

    url, drop = create_database("postgresql", "parkmind_locks")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (id integer PRIMARY KEY)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        with engine.connect() as holder, engine.connect() as waiter:
            holder.exec_driver_sql("SELECT id FROM t WHERE id = 1 FOR UPDATE")
            waiter.exec_driver_sql("SET lock_timeout = '50ms'")
            with pytest.raises(sa.exc.DBAPIError) as caught:
                waiter.exec_driver_sql("SELECT id FROM t WHERE id = 1 FOR UPDATE")
        assert isinstance(caught.value.orig, psycopg.errors.LockNotAvailable)
        assert is_retryable(caught.value)
    finally:
        engine.dispose()
        drop()


def test_the_hot_write_paths_serialise_their_answer_after_the_commit(client, db, user, auth):
    """Booking, releasing and saving a parking event render their answer, and build its
    ``Location``, with no transaction open: on SQLite the write lock is held for the writes,
    not for the serialisation."""
    from tests.factories import LotFactory

    lot = LotFactory(spots=1)
    db.session.commit()
    headers = auth(user)
    app = client.application
    open_while_rendering = []
    render = app.json.response

    def spy(*args, **kwargs):
        open_while_rendering.append(db.session().in_transaction())
        return render(*args, **kwargs)

    app.json.response = spy
    open_while_locating = []
    build_url = app.url_for

    def url_spy(*args, **kwargs):
        open_while_locating.append(db.session().in_transaction())
        return build_url(*args, **kwargs)

    app.url_for = url_spy
    try:
        booked = client.post(
            "/api/v1/bookings", json={"lot_id": lot.id, "vehicle_number": "KA-1"}, headers=headers
        )
        booking_id = booked.get_json()["id"]
        released = client.post(f"/api/v1/bookings/{booking_id}/release", headers=headers)
        saved = client.post(
            "/api/v1/parking-events", json={"latitude": 12.97, "longitude": 77.59}, headers=headers
        )
    finally:
        app.json.response = render
        del app.url_for
    assert (booked.status_code, released.status_code, saved.status_code) == (201, 200, 201)
    assert open_while_rendering == [False, False, False]
    assert booked.headers["Location"] == f"/api/v1/bookings/{booking_id}"
    assert saved.headers["Location"] == f"/api/v1/parking-events/{saved.get_json()['id']}"
    assert open_while_locating == [False, False]


def test_on_sqlite_the_write_lock_is_taken_by_the_transactions_first_statement(tmp_path):
    """A write view's ``BEGIN IMMEDIATE`` goes out with its first statement: the Python work
    before it (parsing, checks, building values) runs without holding SQLite's write lock, and
    everything the transaction reads or writes is under it. A transaction that ran no statement
    sends nothing."""
    import sqlite3

    import flask_migrate
    from sqlalchemy import event

    from app.platform.transactions import begin_write
    from tests.conftest import MIGRATIONS, make_app

    path = tmp_path / "lock.db"
    app = make_app(f"sqlite:///{path}")
    with app.app_context():
        flask_migrate.upgrade(directory=MIGRATIONS)
    other = sqlite3.connect(path, timeout=0, isolation_level=None)

    def other_can_write() -> bool:
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc)
            return False
        other.execute("ROLLBACK")
        return True

    statements: list[str] = []
    with app.test_request_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        begin_write()
        assert db.session().in_transaction()
        assert other_can_write()  # begun, nothing sent yet
        db.session.execute(select(Lot.id).limit(1)).all()
        assert statements[:2] == ["BEGIN IMMEDIATE", statements[1]]
        assert not other_can_write()  # the first statement took the lock
        db.session.commit()
        assert other_can_write()
        statements.clear()
        begin_write()
        db.session.commit()  # nothing ran: nothing begun, nothing committed
        assert statements == []
        assert other_can_write()
    other.close()
    with app.app_context():
        db.engine.dispose()
