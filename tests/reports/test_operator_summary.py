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
