"""A release locks its booking and nothing more: the lot's name and the driver's preferences
come with the booking's locking read, and neither row is locked by it (bookings in the same
lot hold the lot's shared lock; the driver's own requests lock the driver's row)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import create_database, migrated_app


@pytest.fixture(scope="module", params=["mariadb", "postgresql"])
def locking_app(request):
    url, drop = create_database(request.param, "parkmind_release_locks")
    with migrated_app(url) as app:
        yield app
    drop()


NOWAIT = {
    "lots": "SELECT id FROM lots WHERE id = {id} FOR UPDATE NOWAIT",
    "users": "SELECT id FROM users WHERE id = {id} FOR UPDATE NOWAIT",
    "bookings": "SELECT id FROM bookings WHERE id = {id} FOR UPDATE NOWAIT",
}


def test_the_release_lock_takes_the_booking_row_only(locking_app):
    from app.bookings.statements import LOT_NAME, PREFERENCES, statements
    from app.platform.extensions import db
    from tests.factories import BookingFactory, UserFactory

    with locking_app.app_context():
        driver = UserFactory(preferences={"email_receipts": True})
        booking = BookingFactory(user=driver, status="active", ended_at=None, cost_cents=None)
        db.session.commit()
        ids = {"lots": booking.lot_id, "users": driver.id, "bookings": booking.id}
        lot_name = db.session.scalar(sa.text(f"SELECT name FROM lots WHERE id = {ids['lots']}"))
        db.session.remove()
        with db.engine.connect() as releasing, db.engine.connect() as other:
            row = (
                releasing.execute(
                    statements().lock_booking,
                    {"booking_id": ids["bookings"], "user_id": ids["users"]},
                )
                .mappings()
                .one()
            )
            assert row[LOT_NAME] == lot_name
            assert row[PREFERENCES]["email_receipts"] is True
            locked = {}
            for table, statement in NOWAIT.items():
                try:
                    other.exec_driver_sql(statement.format(id=ids[table])).all()
                    locked[table] = False
                except sa.exc.DBAPIError:
                    locked[table] = True
                other.rollback()
            releasing.rollback()
    assert locked == {"lots": False, "users": False, "bookings": True}
