"""Every long history walks the same way: ``?cursor=`` from each page's ``next_cursor`` shows
every row once, newest first (ties on the same instant broken by id), exactly as the numbered
pages do, and the page's ids come from the history's own table with a LIMIT."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.platform.models import utcnow
from tests.factories import (
    BookingFactory,
    LotFactory,
    ParkingEventFactory,
    PaymentFactory,
    SpotFactory,
    UserFactory,
)
from tests.support import sql


def parking_events(user, count: int) -> list[int]:
    start = utcnow() - timedelta(days=2)
    events = [
        ParkingEventFactory(
            user=user, status="retrieved", parked_at=start + timedelta(minutes=i // 3)
        )
        for i in range(count)
    ]
    return [e.id for e in sorted(events, key=lambda e: (e.parked_at, e.id), reverse=True)]


def payments(user, count: int) -> list[int]:
    spot = SpotFactory(lot=LotFactory(spots=0))
    start = utcnow() - timedelta(days=2)
    made = [
        PaymentFactory(
            booking=BookingFactory(user=user, spot=spot),
            created_at=start + timedelta(minutes=i // 3),
        )
        for i in range(count)
    ]
    return [p.id for p in sorted(made, key=lambda p: (p.created_at, p.id), reverse=True)]


HISTORIES = {"/api/v1/parking-events": parking_events, "/api/v1/payments": payments}


@pytest.mark.parametrize("path", sorted(HISTORIES))
def test_the_cursor_walks_the_history_as_the_pages_do(client, db, auth, path):
    user = UserFactory()
    expected = HISTORIES[path](user, 11)
    HISTORIES[path](UserFactory(), 3)  # someone else's
    db.session.commit()
    headers = auth(user)

    seen, url, pages = [], f"{path}?per_page=3", 0
    while url:
        body = client.get(url, headers=headers).get_json()
        seen += [item["id"] for item in body["items"]]
        assert body["total"] == 11 and body["total_exact"] is True
        pages += 1
        url = f"{path}?per_page=3&cursor={body['next_cursor']}" if body["next_cursor"] else None
    numbered = []
    for number in range(1, 5):
        body = client.get(f"{path}?per_page=3&page={number}", headers=headers).get_json()
        numbered += [item["id"] for item in body["items"]]

    assert seen == expected == numbered and pages == 4


@pytest.mark.parametrize("path", sorted(HISTORIES))
def test_a_bad_cursor_is_a_422_on_cursor(client, user, auth, path):
    response = client.get(f"{path}?cursor=nope", headers=auth(user))
    assert response.status_code == 422
    assert "cursor" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize(
    ("path", "table", "moment"),
    [
        ("/api/v1/parking-events", "parking_events", "parked_at"),
        ("/api/v1/payments", "payments", "created_at"),
    ],
)
def test_the_page_ids_come_from_the_history_table_alone(client, db, auth, path, table, moment):
    user = UserFactory()
    HISTORIES[path](user, 4)
    db.session.commit()
    headers = auth(user)
    with sql.statements(db.engine) as statements:
        assert client.get(f"{path}?per_page=2", headers=headers).status_code == 200
    keys = [s for s in statements if s.startswith(f"select {table}.id, {table}.{moment} from")]
    assert len(keys) == 1 and " join " not in keys[0] and " limit " in keys[0], statements
    counts = [s for s in statements if "count(" in s and table in s]
    assert len(counts) == 1 and " limit " in counts[0], counts
