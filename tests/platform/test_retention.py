"""Retention deletes a batch at a time until nothing matches."""

from __future__ import annotations

from sqlalchemy import func, select

from app.notifications.models import Notification
from app.platform.retention import delete_in_batches
from tests.factories import NotificationFactory


def test_delete_in_batches_takes_every_matching_row_and_nothing_else(db):
    doomed = [NotificationFactory(kind="old") for _ in range(5)]
    kept = NotificationFactory(kind="new")
    assert delete_in_batches(Notification, Notification.kind == "old", batch=2) == len(doomed)
    assert db.session.scalar(select(func.count(Notification.id))) == 1
    assert db.session.get(Notification, kept.id) is not None
    assert delete_in_batches(Notification, Notification.kind == "old", batch=2) == 0
