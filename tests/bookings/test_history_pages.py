"""A driver's booking history at any depth: keyset cursors, page numbers, a capped total, and
page ids read from one index, whatever the database's statistics say."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.bookings.models import Booking
from app.platform import cursors, pagination
from app.platform.models import utcnow
from tests.factories import LotFactory, SpotFactory, UserFactory
from tests.support import sql


def history(db, user, count: int, *, statuses=("completed",), same_instant_every: int = 3):
    """``count`` past bookings of ``user`` (Core inserts); every ``same_instant_every`` rows share
    one ``started_at``, so the id must break ties. Returns their ids, newest first."""
    lot = LotFactory(spots=0)
    spot = SpotFactory(lot=lot)
    start = utcnow() - timedelta(days=30)
    rows = []
    for index in range(count):
        started = start + timedelta(minutes=10 * (index // same_instant_every))
        rows.append(
            {
                "user_id": user.id,
                "lot_id": lot.id,
                "spot_id": spot.id,
                "vehicle_number": "KA01AB1234",
                "status": statuses[index % len(statuses)],
                "started_at": started,
                "ended_at": started + timedelta(minutes=5),
                "duration_minutes": 5,
                "hourly_rate_cents": 250,
                "billing_increment_minutes": 60,
                "free_minutes": 0,
                "cost_cents": 250,
                "currency": "USD",
            }
        )
    db.session.execute(sa.insert(Booking.__table__), rows)
    db.session.commit()
    ordered = db.session.execute(
        sa.select(Booking.id)
        .where(Booking.user_id == user.id)
        .order_by(Booking.started_at.desc(), Booking.id.desc())
    ).scalars()
    return list(ordered)


def walk(client, headers, query: str = "") -> tuple[list[int], list[dict]]:
    """Every page through ``next_cursor``: the ids seen, and the page objects."""
    seen, pages = [], []
    url = f"/api/v1/bookings?per_page=4{query}"
    while True:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        pages.append(body)
        seen += [item["id"] for item in body["items"]]
        if body["next_cursor"] is None:
            return seen, pages
        url = f"/api/v1/bookings?per_page=4{query}&cursor={body['next_cursor']}"


def test_cursor_walks_the_whole_history_once_newest_first(client, db, auth):
    user = UserFactory()
    other = UserFactory()
    expected = history(db, user, 23)
    history(db, other, 5)
    headers = auth(user)

    seen, pages = walk(client, headers)

    assert seen == expected  # every booking once, ties on the same instant broken by id
    assert len(pages) == 6 and pages[-1]["next_cursor"] is None
    assert pages[0]["page"] == 1 and all(page["page"] is None for page in pages[1:])
    assert all(page["total"] == 23 and page["total_exact"] for page in pages)
    assert all(page["pages"] == 6 for page in pages)
    # The numbered pages show the same rows in the same order.
    numbered = []
    for number in range(1, 7):
        body = client.get(f"/api/v1/bookings?per_page=4&page={number}", headers=headers)
        numbered += [item["id"] for item in body.get_json()["items"]]
    assert numbered == expected


def test_cursor_with_a_status_filter(client, db, auth):
    user = UserFactory()
    expected = history(db, user, 12, statuses=("completed", "cancelled"))
    headers = auth(user)
    cancelled = [
        booking_id
        for booking_id in expected
        if db.session.get(Booking, booking_id).status == "cancelled"
    ]

    seen, pages = walk(client, headers, "&status=cancelled")

    assert seen == cancelled and pages[0]["total"] == 6


def test_a_bookings_rows_keep_their_lot_and_spot(client, db, auth):
    user = UserFactory()
    [newest, *_] = history(db, user, 2)
    body = client.get("/api/v1/bookings?per_page=1", headers=auth(user)).get_json()
    [item] = body["items"]
    booking = db.session.get(Booking, newest)
    assert item["id"] == newest and item["lot"]["id"] == booking.lot_id
    assert item["spot"]["id"] == booking.spot_id and item["status"] == "completed"
    assert body["next_cursor"] is not None


def test_total_is_counted_up_to_a_cap(client, db, auth, monkeypatch):
    monkeypatch.setattr(pagination, "TOTAL_CAP", 5)
    user = UserFactory()
    history(db, user, 9)
    headers = auth(user)
    body = client.get("/api/v1/bookings?per_page=2", headers=headers).get_json()
    assert (body["total"], body["total_exact"], body["pages"]) == (5, False, 3)
    seen, _ = walk(client, headers)
    assert len(seen) == 9  # the cursor reaches past the cap


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "W10",  # []
        "WyIyMDI2LTExLTIwVDA4OjE1OjAwKzAwOjAwIiwiNyJd",  # a string id
        "WyIyMDI2LTExLTIwVDA4OjE1OjAwIiw3XQ",  # a naive time
        "WyJ5ZXN0ZXJkYXkiLDdd",  # not a time
        "WyIyMDI2LTExLTIwVDA4OjE1OjAwKzAwOjAwIiwtMV0",  # id -1
        "x" * 201,
    ],
)
def test_a_cursor_that_is_not_one_is_a_422(client, user, auth, cursor):
    response = client.get(f"/api/v1/bookings?cursor={cursor}", headers=auth(user))
    assert response.status_code == 422
    body = response.get_json()["error"]
    assert body["code"] == "validation_error" and "cursor" in body["fields"]


def test_cursor_round_trips():
    moment = utcnow().replace(microsecond=123456)
    assert cursors.decode_cursor(cursors.encode_cursor(moment, 42)) == (moment, 42)


def test_the_page_ids_come_from_the_bookings_index_alone(app, client, db, auth):
    """The page is chosen from ``bookings`` alone (no join for the planner to start from another
    table) with a LIMIT, and the total is a capped count; only then are the rows joined."""
    user = UserFactory()
    history(db, user, 6)
    headers = auth(user)
    with sql.statements(db.engine) as statements:
        assert client.get("/api/v1/bookings?per_page=2", headers=headers).status_code == 200
    touching = [s for s in statements if "from bookings" in s]
    keys = [s for s in touching if s.startswith("select bookings.id, bookings.started_at")]
    assert len(keys) == 1 and " join " not in keys[0] and " limit " in keys[0], touching
    counts = [s for s in statements if "count(" in s and "bookings" in s]
    assert len(counts) == 1 and " limit " in counts[0], counts


def test_explain_reads_the_page_from_the_history_index(db, database_url):
    """The page's ids are a range of ``ix_bookings_user_started`` (or, with a status, of
    ``ix_bookings_user_status_started``). On MariaDB, with no ANALYZE (it estimates ranges by
    diving into the index, not from statistics), and on SQLite, in index order: no filesort, no
    temporary B-tree. PostgreSQL plans from statistics (autovacuum keeps them): after ANALYZE it
    picks the same indexes."""
    mariadb = database_url.startswith("mysql")
    sqlite = database_url.startswith("sqlite")
    user = UserFactory()
    history(db, user, 300, statuses=("completed",) * 19 + ("cancelled",))
    for _ in range(3):
        history(db, UserFactory(), 100)
    if not mariadb and not sqlite:
        db.session.execute(sa.text("ANALYZE bookings"))
    bookings = Booking.__table__
    at, after = utcnow(), 2**31 - 1
    for where, index in (
        (bookings.c.user_id == user.id, "ix_bookings_user_started"),
        (
            sa.and_(bookings.c.user_id == user.id, bookings.c.status == "cancelled"),
            "ix_bookings_user_status_started",
        ),
    ):
        keys = (
            sa.select(bookings.c.id, bookings.c.started_at)
            .where(where)
            .where(
                bookings.c.started_at <= at,
                sa.or_(
                    bookings.c.started_at < at,
                    sa.and_(bookings.c.started_at == at, bookings.c.id < after),
                ),
            )
            .order_by(bookings.c.started_at.desc(), bookings.c.id.desc())
            .limit(21)
        )
        compiled = keys.compile(db.engine, compile_kwargs={"literal_binds": True})
        explain = "EXPLAIN QUERY PLAN" if sqlite else "EXPLAIN"
        plan = db.session.execute(sa.text(f"{explain} {compiled}")).all()
        text = " ".join(" ".join(str(value) for value in row) for row in plan)
        assert index in text, plan
        if mariadb:
            assert "filesort" not in text.lower(), plan
        if sqlite:
            assert "TEMP B-TREE" not in text, plan
