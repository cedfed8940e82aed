"""The operator's daily summary: posted once a day, however often the job runs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.platform.models import utcnow
from tests.factories import BookingFactory, SpotFactory
from tests.support.webhook import webhook_receiver


@pytest.fixture
def webhook(app, monkeypatch):
    with webhook_receiver("/x") as (url, received):
        monkeypatch.setitem(app.config, "NOTIFY_WEBHOOK_URL", url)
        yield received


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


def test_revenue_is_what_was_paid_in_the_period_and_charges_are_apart(app, db):
    from app.reports.jobs import operator_figures
    from tests.factories import PaymentFactory

    end = utcnow()
    start = end - timedelta(days=1)
    inside, before = start + timedelta(hours=2), start - timedelta(hours=2)
    PaymentFactory(amount_cents=700, status="pending", created_at=inside)
    PaymentFactory(amount_cents=300, status="paid", created_at=inside, paid_at=inside)
    PaymentFactory(amount_cents=1100, status="paid", created_at=before, paid_at=inside)
    PaymentFactory(amount_cents=50_00, status="paid", created_at=before, paid_at=before)
    figures = operator_figures(start, end)
    assert figures["charged"] == "10.00 USD"  # 700 + 300 recorded in the period
    assert figures["revenue"] == "14.00 USD"  # 300 + 1100 paid in the period
