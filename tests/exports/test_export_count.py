"""The export's progress total: the rows the export writes, counted without delaying its first
row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from app.exports.rows import Progress, export_count_query, export_rows
from app.platform.models import utcnow
from tests.factories import (
    BookingFactory,
    ExportFactory,
    LotFactory,
    ParkingEventFactory,
    RetrievalScoreFactory,
    UserFactory,
)


def _history(user, now):
    """Bookings and parking events in and out of a 60-day range, with lots, scores and none."""
    lot = LotFactory(spots=2)
    for days in (1, 20, 59, 61, 400):
        BookingFactory(user=user, started_at=now - timedelta(days=days))
    for days in (2, 30, 90):
        ParkingEventFactory(user=user, parked_at=now - timedelta(days=days), lot_id=lot.id)
    for days in (3, 45):
        RetrievalScoreFactory(
            event=ParkingEventFactory(
                user=user, status="retrieved", parked_at=now - timedelta(days=days)
            )
        )
    BookingFactory(started_at=now - timedelta(days=1))  # someone else's
    ParkingEventFactory(parked_at=now - timedelta(days=1))


@pytest.mark.parametrize("kind", ["bookings", "parking_events"])
@pytest.mark.parametrize("ranged", [False, True])
def test_the_count_is_the_number_of_rows_the_export_writes(db, kind, ranged):
    user, now = UserFactory(), utcnow()
    _history(user, now)
    export = ExportFactory(
        user=user,
        kind=kind,
        date_from=now - timedelta(days=60) if ranged else None,
        date_to=now if ranged else None,
    )
    written = len(list(export_rows(export))) - 1  # the header
    in_range = {"bookings": 3, "parking_events": 4}[kind]
    assert written == (in_range if ranged else 5)
    assert db.session.scalar(export_count_query(export)) == written


def test_the_total_is_counted_once_by_the_beat_that_wants_it(db):
    user = UserFactory()
    for _ in range(4):
        BookingFactory(user=user)
    tracker = Progress(counting=export_count_query(ExportFactory(user=user)))
    assert tracker.percent is None  # not counted yet
    rows = tracker.count(iter([("header",), (1,), (2,), (3,), (4,)]))
    next(rows), next(rows), next(rows)
    connection = db.session.connection()
    statements = []
    event.listen(connection, "before_cursor_execute", lambda *a: statements.append(a[2]))
    tracker.measure(connection)
    tracker.measure(connection)
    assert (tracker.total, tracker.percent, len(statements)) == (4, 50, 1)
    assert Progress(total=None, counting=None).percent is None


def test_the_first_row_of_an_export_waits_for_no_count(db, monkeypatch):
    """The export's own session sends the rows' SELECT first: the progress total is the
    heartbeat's business, on its own connection, once the file is being written."""
    from app.exports import service as exports

    user = UserFactory()
    for _ in range(3):
        BookingFactory(user=user)
    export = ExportFactory(user=user, status="pending", active_user_id=user.id)
    attempt = exports.claim_export(export.id)
    monkeypatch.setattr(exports, "HEARTBEAT_SECONDS", 3600)  # no beat during this export
    statements: list[str] = []
    engine = db.session.get_bind()

    def record(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()).lower())

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert exports.produce_export(export.id, attempt) == 3
    finally:
        event.remove(engine, "before_cursor_execute", record)
    rows_select = next(i for i, s in enumerate(statements) if s.startswith("select bookings.id,"))
    assert not [s for s in statements[:rows_select] if "count(" in s]
