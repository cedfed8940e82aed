"""Every factory builds a valid row on every backend (the constraints accept it)."""

import pytest

from tests import factories

ALL = [
    factories.UserFactory,
    factories.AuthSessionFactory,
    factories.LotFactory,
    factories.SpotFactory,
    factories.BookingFactory,
    factories.PaymentFactory,
    factories.UploadFactory,
    factories.ParkingEventFactory,
    factories.LandmarkFactory,
    factories.AssistRequestFactory,
    factories.RetrievalScoreFactory,
    factories.ExportFactory,
    factories.CircleMembershipFactory,
    factories.CircleAuditFactory,
    factories.NotificationFactory,
    factories.OutboundMessageFactory,
    factories.IdempotencyKeyFactory,
    factories.AccessLogEntryFactory,
]


@pytest.mark.parametrize("factory_class", ALL, ids=lambda f: f.__name__)
def test_factory_creates_a_row(db, factory_class):
    obj = factory_class()
    db.session.flush()
    assert obj.id is not None
    assert db.session.get(type(obj), obj.id) is obj


def test_lot_factory_creates_numbered_spots(db):
    from sqlalchemy import select

    from app.lots.models import Spot

    lot = factories.LotFactory(spots=3)
    numbers = db.session.scalars(select(Spot.number).where(Spot.lot_id == lot.id)).all()
    assert sorted(numbers) == [1, 2, 3]
