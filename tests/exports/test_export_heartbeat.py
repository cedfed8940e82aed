"""An export that outlasts a heartbeat is marked done, on a database file shared by the
export's session and the heartbeat's own connection (no test transaction around them)."""

from __future__ import annotations

import time

import pytest

from tests.conftest import migrated_app


@pytest.fixture
def file_app(tmp_path):
    """The app on its own SQLite file: what commits is committed, as in a worker."""
    with migrated_app(f"sqlite:///{tmp_path / 'exports.db'}") as app:
        yield app


def test_an_export_that_outlasts_a_heartbeat_is_marked_done(file_app, monkeypatch):
    """The heartbeat commits on its own connection while the file is written. SQLite refuses
    to turn a read transaction into a write one once another connection has committed since
    it began ("database is locked", at once, whatever the busy timeout): the export's last
    write must not come from the transaction its reads began."""
    from app.exports import service as exports
    from app.exports.models import Export
    from app.platform.extensions import db
    from tests.factories import BookingFactory, ExportFactory, UserFactory

    with file_app.app_context():
        user = UserFactory()
        BookingFactory(user=user)
        export = ExportFactory(user=user, status="pending", active_user_id=user.id)
        db.session.commit()
        export_id = export.id
        attempt = exports.claim_export(export_id)
        db.session.commit()
        monkeypatch.setattr(exports, "HEARTBEAT_SECONDS", 0.02)
        original = exports.write_csv

        def slow_write_csv(handle, rows, **options):
            count = original(handle, rows, **options)
            time.sleep(0.3)  # a long export: the heartbeat beats, and commits, meanwhile
            return count

        monkeypatch.setattr(exports, "write_csv", slow_write_csv)
        beaten = exports._beat
        progress = []  # (total, percent) the heartbeat saw: it counts the rows itself

        def beat(export_id, attempt, tracker, connection):
            alive = beaten(export_id, attempt, tracker, connection)
            progress.append((tracker.total, tracker.percent))
            return alive

        monkeypatch.setattr(exports, "_beat", beat)
        assert exports.produce_export(export_id, attempt) == 1
        db.session.commit()
        done = db.session.get(Export, export_id, populate_existing=True)
        assert (done.status, done.row_count, done.progress) == ("done", 1, 100)
        assert done.heartbeat_at > done.started_at  # it did beat during the export
        assert (1, 99) in progress  # one row to write, written, not yet stored
        db.session.remove()
