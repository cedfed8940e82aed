"""Reminders: each message is sent once, however often a job runs."""

from __future__ import annotations

from datetime import timedelta

from app.platform.models import utcnow
from tests.factories import (
    BookingFactory,
    LotFactory,
    ParkingEventFactory,
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

    assert run_job("booking-reminders") == {"sent": 1, "opted_out": 1, "errors": 0}
    assert run_job("booking-reminders") == {"sent": 0, "opted_out": 1, "errors": 0}
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
