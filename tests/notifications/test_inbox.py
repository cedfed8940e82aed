"""The in-app inbox: listing, the unread filter and count, marking read, and dedupe."""

from __future__ import annotations

import pytest

from app.notifications.service import create_notification
from tests.factories import NotificationFactory, UserFactory

API = "/api/v1"


@pytest.fixture
def owner(db):
    return UserFactory()


def test_list_newest_first_with_unread_count(client, auth, owner):
    first = NotificationFactory(user=owner, title="first")
    second = NotificationFactory(user=owner, title="second")
    NotificationFactory(user=UserFactory(), title="someone else's")
    headers = auth(owner)

    page = client.get(f"{API}/notifications", headers=headers).get_json()
    assert [n["id"] for n in page["items"]] == [second.id, first.id]
    assert page["unread_count"] == 2
    assert page["total"] == 2
    item = page["items"][0]
    assert set(item) == {"id", "kind", "title", "body", "data", "read", "read_at", "created_at"}
    assert item["read"] is False
    assert item["created_at"].endswith("Z")

    read = client.post(f"{API}/notifications/{first.id}/read", headers=headers)
    assert read.status_code == 200
    assert read.get_json()["read"] is True
    read_at = read.get_json()["read_at"]
    assert read_at.endswith("Z")
    # Reading again keeps the first time.
    again = client.post(f"{API}/notifications/{first.id}/read", headers=headers)
    assert again.get_json()["read_at"] == read_at

    unread = client.get(f"{API}/notifications?unread=true", headers=headers).get_json()
    assert [n["id"] for n in unread["items"]] == [second.id]
    assert unread["unread_count"] == 1
    everything = client.get(f"{API}/notifications", headers=headers).get_json()
    assert everything["total"] == 2
    assert everything["unread_count"] == 1


def test_read_all_marks_only_mine(client, auth, db, owner):
    for _ in range(3):
        NotificationFactory(user=owner)
    other = UserFactory()
    NotificationFactory(user=other)

    assert client.post(f"{API}/notifications/read-all", headers=auth(owner)).status_code == 204
    mine = client.get(f"{API}/notifications?unread=true", headers=auth(owner)).get_json()
    assert mine["items"] == []
    assert mine["unread_count"] == 0
    assert client.get(f"{API}/notifications", headers=auth(other)).get_json()["unread_count"] == 1


def test_pagination(client, auth, owner):
    for _ in range(5):
        NotificationFactory(user=owner)
    page = client.get(f"{API}/notifications?page=2&per_page=2", headers=auth(owner)).get_json()
    assert (page["page"], page["per_page"], page["total"], page["pages"]) == (2, 2, 5, 3)
    assert len(page["items"]) == 2
    assert page["unread_count"] == 5
    bad = client.get(f"{API}/notifications?per_page=101", headers=auth(owner))
    assert bad.status_code == 422
    assert client.get(f"{API}/notifications?unread=maybe", headers=auth(owner)).status_code == 422


def test_another_users_notification_is_not_found(client, auth, owner):
    theirs = NotificationFactory(user=UserFactory())
    response = client.post(f"{API}/notifications/{theirs.id}/read", headers=auth(owner))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "notification_not_found"


def test_anonymous_is_unauthorized(client):
    assert client.get(f"{API}/notifications").status_code == 401
    assert client.post(f"{API}/notifications/read-all").status_code == 401


def test_dedupe_key_lands_once(db, owner):
    entry, created = create_notification(
        user_id=owner.id, kind="info", title="t", body="b", dedupe_key="k:1"
    )
    again, created_again = create_notification(
        user_id=owner.id, kind="info", title="t", body="b", dedupe_key="k:1"
    )
    assert created is True
    assert created_again is False
    assert again.id == entry.id


def test_purge_notifications_keeps_the_retention_period_and_is_idempotent(app, db, run_job):
    from datetime import timedelta

    from app.notifications.models import Notification
    from app.platform.models import utcnow
    from tests.factories import NotificationFactory

    days = app.config["NOTIFICATION_RETENTION_DAYS"]
    old = NotificationFactory(created_at=utcnow() - timedelta(days=days, minutes=1))
    kept = NotificationFactory(created_at=utcnow() - timedelta(days=days - 1))
    old_id, kept_id = old.id, kept.id
    assert run_job("purge-notifications") == {"deleted": 1}
    assert run_job("purge-notifications") == {"deleted": 0}
    db.session.expire_all()
    assert db.session.get(Notification, old_id) is None
    assert db.session.get(Notification, kept_id) is not None
