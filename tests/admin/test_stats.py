"""Admin stats: revenue is money taken (paid payments only); per lot also upcoming reservations
and this month's no-shows; payments changing state invalidate the cached dashboard."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import flask_migrate
import pytest
import time_machine

from app.reservations.models import Reservation
from tests.conftest import MIGRATIONS, make_app, require
from tests.factories import PASSWORD, LotFactory, PaymentFactory, UserFactory

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def pay(lot, amount: int, status: str, **fields):
    """A payment of ``amount`` at ``lot`` in ``status`` (its booking made up by the factory)."""
    return PaymentFactory(
        booking__lot=lot,
        booking__spot__lot=lot,
        amount_cents=amount,
        status=status,
        created_at=NOW - timedelta(days=4),
        **fields,
    )


def reserve(db, lot, status: str, start: datetime) -> None:
    user = UserFactory()
    db.session.add(
        Reservation(
            user_id=user.id,
            lot_id=lot.id,
            vehicle_number="R-1",
            status=status,
            start_at=start,
            end_at=start + timedelta(hours=2),
            hourly_rate_cents=200,
            billing_increment_minutes=60,
            free_minutes=0,
            amount_cents=400,
            cancellation_fee_cents=0,
            currency="USD",
        )
    )
    db.session.commit()


def by_lot(stats: dict) -> dict[int, dict]:
    return {item["id"]: item for item in stats["per_lot"]}


def test_revenue_counts_only_paid_payments_by_when_they_were_paid(client, db, auth, admin):
    north, south = LotFactory(), LotFactory()
    pending = pay(north, 400, "pending")
    pay(north, 300, "paid", paid_at=NOW - timedelta(hours=1))
    pay(north, 700, "refunded", paid_at=NOW - timedelta(hours=2), refunded_at=NOW)
    pay(north, 50, "failed")
    pay(south, 1000, "paid", paid_at=NOW - timedelta(days=2))
    pay(south, 2000, "paid", paid_at=NOW - timedelta(days=25))  # October

    with time_machine.travel(NOW, tick=False):
        headers = auth(admin)
        stats = client.get("/api/v1/admin/stats", headers=headers).get_json()
        marked = client.post(
            f"/api/v1/admin/payments/{pending.id}/mark-paid", json={}, headers=headers
        )
        after = client.get("/api/v1/admin/stats", headers=headers).get_json()

    assert (stats["revenue_today_cents"], stats["revenue_month_cents"]) == (300, 1300)
    lots = by_lot(stats)
    assert (lots[north.id]["revenue_today_cents"], lots[north.id]["revenue_month_cents"]) == (
        300,
        300,
    )
    assert (lots[south.id]["revenue_today_cents"], lots[south.id]["revenue_month_cents"]) == (
        0,
        1000,
    )
    assert marked.status_code == 200
    assert (after["revenue_today_cents"], after["revenue_month_cents"]) == (700, 1700)
    assert by_lot(after)[north.id]["revenue_month_cents"] == 700


def test_per_lot_upcoming_reservations_and_no_shows_this_month(client, db, auth, admin):
    north, south = LotFactory(), LotFactory()
    for start in (NOW + timedelta(hours=3), NOW + timedelta(days=12)):
        reserve(db, north, "confirmed", start)
    reserve(db, north, "cancelled", NOW + timedelta(days=1))
    reserve(db, north, "checked_in", NOW - timedelta(minutes=30))
    reserve(db, north, "no_show", NOW - timedelta(days=3))
    reserve(db, north, "no_show", NOW - timedelta(days=30))  # October
    reserve(db, south, "no_show", NOW - timedelta(days=1))
    reserve(db, south, "completed", NOW - timedelta(days=2))

    with time_machine.travel(NOW, tick=False):
        stats = client.get("/api/v1/admin/stats", headers=auth(admin)).get_json()

    lots = by_lot(stats)
    assert (lots[north.id]["upcoming_reservations"], lots[north.id]["no_shows_month"]) == (2, 1)
    assert (lots[south.id]["upcoming_reservations"], lots[south.id]["no_shows_month"]) == (0, 1)


@pytest.fixture
def redis_client_app(request, tmp_path):
    """A client of an app on its own SQLite file whose cache is Redis (committed data)."""
    require("redis")
    app = make_app(
        f"sqlite:///{tmp_path / 'stats.db'}",
        REDIS_URL="redis://127.0.0.1:6379/15",
        CACHE_TYPE="RedisCache",
        CACHE_REDIS_URL="redis://127.0.0.1:6379/15",
        CACHE_KEY_PREFIX=f"parkmind-test-{uuid.uuid4().hex[:12]}:",
    )
    with app.app_context():
        flask_migrate.upgrade(directory=MIGRATIONS)
    ctx = app.app_context()
    ctx.push()
    request.addfinalizer(ctx.pop)
    from app.platform import cache

    redis = cache.redis_client()
    pattern = f"{app.config['CACHE_KEY_PREFIX']}*"
    request.addfinalizer(lambda: [redis.delete(key) for key in redis.keys(pattern)])
    return app, app.test_client()


def test_cached_stats_follow_payments_changing_state(redis_client_app):
    _app, client = redis_client_app
    from app.platform.extensions import db

    lot = LotFactory()
    admin = UserFactory(role="admin")
    payment = PaymentFactory(booking__lot=lot, booking__spot__lot=lot, amount_cents=450)
    db.session.commit()
    login = client.post("/api/v1/auth/login", json={"login": admin.username, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}

    def month() -> int:
        return client.get("/api/v1/admin/stats", headers=headers).get_json()["revenue_month_cents"]

    assert month() == 0
    assert month() == 0  # served from the cache now
    paid = client.post(f"/api/v1/admin/payments/{payment.id}/mark-paid", json={}, headers=headers)
    assert paid.status_code == 200
    assert month() == 450
    refund = client.post(
        f"/api/v1/admin/payments/{payment.id}/refund", json={"reason": "Fault"}, headers=headers
    )
    assert refund.status_code == 200
    assert month() == 0


def test_stats_read_each_table_once(client, db, auth, admin):
    """Every figure comes from one query: this month's payments are summed once (per lot, and
    the totals from those sums), spots counted once."""
    from sqlalchemy import event

    north = LotFactory(spots=2)
    gone = LotFactory(deleted_at=NOW - timedelta(days=1))
    pay(north, 300, "paid", paid_at=NOW - timedelta(hours=1))
    pay(gone, 500, "paid", paid_at=NOW - timedelta(days=3))
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with time_machine.travel(NOW, tick=False):
            headers = auth(admin)
            statements.clear()
            stats = client.get("/api/v1/admin/stats", headers=headers).get_json()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)

    assert (stats["revenue_today_cents"], stats["revenue_month_cents"]) == (300, 800)
    assert gone.id not in by_lot(stats)
    assert by_lot(stats)[north.id]["revenue_month_cents"] == 300
    for table in ("payments", "spots", "reservations", "stat_counters"):
        reads = [sql for sql in statements if re.search(rf"\bFROM {table}\b", sql)]
        assert len(reads) <= 2, (table, reads)
    # Totals come from the kept counters: no table is counted whole.
    for table in ("bookings", "users"):
        assert not [sql for sql in statements if re.search(rf"\bFROM {table}\b", sql)]


def test_per_lot_is_a_page_of_lots_by_id(client, db, auth, admin):
    lots = [LotFactory(spots=2) for _ in range(3)]
    LotFactory(spots=4, deleted_at=NOW - timedelta(days=1))
    headers = auth(admin)

    first = client.get("/api/v1/admin/stats?per_lot_limit=2", headers=headers).get_json()
    cursor = first["per_lot_next_cursor"]
    second = client.get(
        f"/api/v1/admin/stats?per_lot_limit=2&per_lot_cursor={cursor}", headers=headers
    ).get_json()

    mine = [lot.id for lot in lots]
    seen = [item["id"] for item in first["per_lot"] + second["per_lot"] if item["id"] in mine]
    assert seen == mine
    assert len(first["per_lot"]) == 2 and cursor
    assert second["per_lot_next_cursor"] is None
    # The totals cover every live lot whatever the page.
    assert first["lots"] == second["lots"] >= 3
    assert first["spots"] == second["spots"]
    for bad in ("per_lot_limit=0", "per_lot_limit=201", "per_lot_cursor=bogus!"):
        response = client.get(f"/api/v1/admin/stats?{bad}", headers=headers)
        assert response.status_code == 422, bad
        assert response.get_json()["error"]["code"] == "validation_error"
