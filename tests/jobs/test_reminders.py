"""Reminders and the operator summary: each message is sent once, however often a job runs."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from app.models import utcnow
from tests.factories import (
    BookingFactory,
    LotFactory,
    ParkingEventFactory,
    SpotFactory,
    UserFactory,
)


def test_booking_reminders_once_per_quiet_spell_and_opt_out(db, smtp, mailing, run_job):
    quiet = UserFactory()
    BookingFactory(user=quiet, started_at=utcnow() - timedelta(days=9))
    busy = UserFactory()
    BookingFactory(user=busy, started_at=utcnow() - timedelta(days=2))
    opted_out = UserFactory(preferences={"email_reminders": False})
    BookingFactory(user=opted_out, started_at=utcnow() - timedelta(days=30))
    parked = UserFactory()
    BookingFactory(
        user=parked,
        status="active",
        started_at=utcnow() - timedelta(days=8),
        ended_at=None,
        active_user_id=None,
    )
    UserFactory()  # never booked: not a driver to remind

    assert run_job("booking-reminders") == {"sent": 1, "opted_out": 1}
    assert run_job("booking-reminders") == {"sent": 0, "opted_out": 1}
    messages = smtp.wait_for(1, timeout=5)
    assert [m["To"] for m in messages] == [quiet.email]
    assert (
        "a week since your last ParkMind booking" in messages[0].get_body(("plain",)).get_content()
    )


def test_parking_event_reminder_says_where_the_car_is_once(app, db, smtp, mailing, run_job):
    lot = LotFactory(name="Riverside Garage")
    person = UserFactory()
    event = ParkingEventFactory(
        user=person,
        lot_id=lot.id,
        level="B2",
        spot_label="17",
        latitude=12.9716,
        longitude=77.5946,
        parked_at=utcnow() - timedelta(hours=13),
    )
    ParkingEventFactory(user=UserFactory(), parked_at=utcnow() - timedelta(hours=2))
    ParkingEventFactory(
        user=UserFactory(), status="retrieved", parked_at=utcnow() - timedelta(hours=30)
    )

    assert run_job("parking-event-reminders")["sent"] == 1
    assert run_job("parking-event-reminders")["sent"] == 0
    [message] = smtp.wait_for(1, timeout=5)
    assert message["To"] == person.email
    text = message.get_body(("plain",)).get_content()
    assert "Your car is at Riverside Garage, level B2, spot 17." in text
    assert "https://www.google.com/maps/dir/?api=1&destination=12.971600,77.594600" in text
    assert "Riverside Garage" in message.get_body(("html",)).get_content()
    assert event.id


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):
        _Hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook(app, monkeypatch):
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setitem(
        app.config, "NOTIFY_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/x"
    )
    yield _Hook.received
    server.shutdown()
    server.server_close()


def test_operator_summary_posts_once_a_day(db, webhook, run_job):
    spot = SpotFactory()
    BookingFactory(spot=spot, lot=spot.lot, started_at=utcnow() - timedelta(days=1))
    first = run_job("operator-summary")
    second = run_job("operator-summary")
    assert first["posted"] is True and second["posted"] is False
    assert len(webhook) == 1
    assert webhook[0]["text"].startswith("ParkMind daily summary for ")
    assert "bookings started" in webhook[0]["text"]


def test_operator_summary_without_webhook_is_a_no_op(app, db, monkeypatch, run_job):
    monkeypatch.setitem(app.config, "NOTIFY_WEBHOOK_URL", None)
    assert run_job("operator-summary")["posted"] is False
