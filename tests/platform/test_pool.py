"""The connection pool hands out connections that work: one that fails its checkout ping is
replaced, whatever the driver's error."""

from __future__ import annotations

import pytest

from tests.conftest import create_database, make_app, require


@pytest.fixture
def postgresql_app():
    require("postgresql")
    url, drop = create_database("postgresql", "parkmind_pool")
    try:
        yield make_app(url)
    finally:
        drop()


def test_a_connection_that_fails_its_ping_is_replaced_not_raised(postgresql_app):
    """A connection left with a command in flight (its server process was killed mid-query
    under load) fails psycopg's ping with a ProgrammingError, not a disconnect: the request
    that drew it got a 500. The ping now reports it unusable, so the pool reconnects."""
    from psycopg.pq import TransactionStatus

    from app.platform.extensions import db

    with postgresql_app.app_context():
        engine = db.engine
        assert engine.pool._pre_ping
        raw = engine.raw_connection()
        try:
            driver = raw.dbapi_connection
            driver.pgconn.send_query(b"SELECT 1")  # sent; its result never read
            assert driver.info.transaction_status == TransactionStatus.ACTIVE
            assert engine.dialect._do_ping_w_event(driver) is False
        finally:
            raw.invalidate()
        with engine.connect() as conn:  # the pool goes on serving
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
        engine.dispose()
