"""Fixtures shared by the hardening tests."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.platform.models import utcnow
from tests import factories


@pytest.fixture
def world(db):
    """An owner with one of everything, another user, a caregiver, a stranger and an admin."""
    owner = factories.UserFactory()
    other = factories.UserFactory()
    caregiver = factories.UserFactory()
    stranger = factories.UserFactory()
    admin = factories.UserFactory(role="admin")
    lot = factories.LotFactory(spots=3)
    spot = factories.SpotFactory(lot=lot, number=10, is_occupied=True)
    booking = factories.BookingFactory(
        user=owner,
        spot=spot,
        lot=lot,
        status="active",
        ended_at=None,
        cost_cents=None,
        duration_minutes=None,
        active_spot_id=spot.id,
        active_user_id=owner.id,
    )
    payment = factories.PaymentFactory(booking__user=owner, booking__lot=lot)
    reservation = factories.ReservationFactory(user=owner, spot=spot)
    event = factories.ParkingEventFactory(user=owner)
    landmark = factories.LandmarkFactory(event=event)
    upload = factories.UploadFactory(user=owner, status="pending")
    export = factories.ExportFactory(user=owner)
    notification = factories.NotificationFactory(user=owner)
    device = factories.DeviceFactory(user=owner)
    alert = factories.AlertFactory(person_id=owner.id, event_id=event.id)
    factories.CircleMembershipFactory(person=owner, member=caregiver, role="caregiver")
    inviter = factories.UserFactory()
    invitation = factories.CircleMembershipFactory(
        person=inviter,
        member=owner,
        role="viewer",
        status="pending",
        responded_at=None,
        expires_at=utcnow() + timedelta(days=7),
    )
    ids = {
        "lot_id": lot.id,
        "spot_id": spot.id,
        "booking_id": booking.id,
        "payment_id": payment.id,
        "reservation_id": reservation.id,
        "event_id": event.id,
        "landmark_id": landmark.id,
        "upload_id": upload.id,
        "export_id": export.id,
        "notification_id": notification.id,
        "device_id": device.id,
        "alert_id": alert.id,
        "invitation_id": invitation.id,
        "stranger_username": stranger.username,
    }
    return {
        "owner": owner,
        "other": other,
        "caregiver": caregiver,
        "stranger": stranger,
        "admin": admin,
        "ids": ids,
    }
