"""Smoke test: streaming an export keeps memory flat (the 200k-row figure is a benchmark)."""

from __future__ import annotations

import io
import tracemalloc
from datetime import timedelta

import sqlalchemy as sa

from app.bookings.models import Booking
from app.exports.models import Export
from app.exports.rows import export_rows, write_csv
from app.platform.models import utcnow
from tests.factories import ExportFactory, SpotFactory

ROWS = 5000


def test_streaming_export_memory_growth_is_small(app, db, user):
    spot = SpotFactory()
    start = utcnow() - timedelta(days=100)
    db.session.execute(
        sa.insert(Booking),
        [
            {
                "user_id": user.id,
                "lot_id": spot.lot_id,
                "spot_id": spot.id,
                "vehicle_number": f"KA{n:06d}",
                "status": "completed",
                "started_at": start + timedelta(minutes=n),
                "ended_at": start + timedelta(minutes=n + 30),
                "duration_minutes": 30,
                "hourly_rate_cents": 250,
                "billing_increment_minutes": 60,
                "free_minutes": 0,
                "cost_cents": 250,
                "currency": "USD",
                "remarks": "=cmd|' /C calc'!A0" if n == 0 else "x" * 40,
                "created_at": start,
                "updated_at": start,
            }
            for n in range(ROWS)
        ],
    )
    export = ExportFactory(
        user=user, kind="bookings", date_from=start - timedelta(days=1), date_to=utcnow()
    )

    class Sink(io.TextIOBase):
        """Counts what is written without keeping it (the real task writes to a temp file)."""

        written = 0

        def write(self, text):
            self.written += len(text)
            return len(text)

    sink = Sink()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        count = write_csv(sink, export_rows(db.session.get(Export, export.id)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == ROWS
    assert sink.written > ROWS * 40
    assert peak - baseline < 8 * 1024 * 1024, f"peak growth {(peak - baseline) / 1e6:.1f} MB"
