"""The lot list's and the admin dashboard's reads of spots, payments, reservations and bookings
use their indexes on every database, with the optimizer's statistics fresh or stale.

Each backend gets a database of its own with a few thousand rows (Core executemany). The
statements are the ones the services really send (captured while they run); each is then
EXPLAINed with its own parameters, once before and once after the tables are analyzed: InnoDB's
statistics of freshly inserted rows are rough, and a plan that flips once they are exact would
make a page cost what the whole table costs.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import flask_migrate
import pytest
import sqlalchemy as sa
import time_machine

from tests.conftest import MIGRATIONS, backend_of, create_database, make_app

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LOTS, SPOTS_PER_LOT, USERS, PAYMENTS, BOOKINGS, RESERVATIONS = 400, 12, 300, 6000, 5000, 3000

SPOT_COUNTS = ("ix_spots_lot_counts",)
SPOT_PROBES = ("ix_spots_allocation", "ix_spots_lot_counts")
COUNTER_KEYS = ("PRIMARY", "sqlite_autoindex_stat_counters_1", "pk_stat_counters")


@pytest.fixture(scope="module", params=["sqlite", "mariadb", "postgresql"])
def planned_app(request, tmp_path_factory):
    """An app on a database of its own, migrated and filled, and its backend's name."""
    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path_factory.mktemp('plans') / 'plans.db'}", None
    else:
        url, drop = create_database(request.param, "parkmind_plans")
    app = make_app(url)
    with app.app_context():
        flask_migrate.upgrade(directory=MIGRATIONS)
        fill()
    yield app, backend_of(url)
    with app.app_context():
        from app.platform.extensions import db

        db.engine.dispose()
    if drop is not None:
        drop()


def fill() -> None:
    """Lots, spots, users, bookings, payments (three months) and reservations, committed."""
    from app.accounts.models import User
    from app.bookings.models import Booking
    from app.lots.models import Lot, Spot
    from app.payments.models import Payment
    from app.platform.extensions import db
    from app.reservations.models import Reservation

    rnd = random.Random(20261120)
    lots = [
        {
            "id": n,
            "name": f"Lot {n:04d}",
            "address": f"{n} Ring Road",
            "pin_code": str(560000 + n % 40),
            "latitude": 12.9 + rnd.uniform(0, 0.2),
            "longitude": 77.5 + rnd.uniform(0, 0.2),
            "levels": 1,
            "hourly_rate_cents": 200,
            "billing_increment_minutes": 60,
            "free_minutes": 0,
            "cancellation_fee_cents": 0,
            "created_at": NOW,
            "updated_at": NOW,
        }
        for n in range(1, LOTS + 1)
    ]
    spots = [
        {
            "id": (lot - 1) * SPOTS_PER_LOT + number,
            "lot_id": lot,
            "number": number,
            "level": 1,
            "status": rnd.choice(("available",) * 8 + ("out_of_service", "removed")),
            "is_occupied": rnd.random() < 0.5,
            "feature_mask": rnd.randint(0, 15),
        }
        for lot in range(1, LOTS + 1)
        for number in range(1, SPOTS_PER_LOT + 1)
    ]
    users = [
        {
            "id": n,
            "username": f"plan{n}",
            "email": f"plan{n}@example.org",
            "password_hash": "x",
            "role": "user",
            "is_active": True,
            "created_at": NOW,
            "updated_at": NOW,
        }
        for n in range(1, USERS + 1)
    ]
    bookings, payments = [], []
    for n in range(1, BOOKINGS + 1):
        spot = spots[rnd.randrange(len(spots))]
        started = NOW - timedelta(hours=rnd.randint(2, 24 * 90))
        active = n <= 50
        bookings.append(
            {
                "id": n,
                "user_id": n if active else rnd.randint(1, USERS),
                "lot_id": spot["lot_id"],
                "spot_id": spot["id"],
                "active_spot_id": spot["id"] if active else None,
                "active_user_id": n if active else None,
                "vehicle_number": "KA01",
                "status": "active" if active else "completed",
                "started_at": started,
                "ended_at": None if active else started + timedelta(hours=1),
                "hourly_rate_cents": 200,
                "billing_increment_minutes": 60,
                "free_minutes": 0,
                "currency": "USD",
                "created_at": started,
                "updated_at": started,
            }
        )
    for n in range(1, PAYMENTS + 1):
        booking = bookings[n - 1] if n <= BOOKINGS else None
        paid_at = NOW - timedelta(hours=rnd.randint(1, 24 * 90))
        payments.append(
            {
                "id": n,
                "booking_id": booking["id"] if booking else None,
                "kind": "parking",
                "user_id": rnd.randint(1, USERS),
                "lot_id": rnd.randint(1, LOTS),
                "amount_cents": rnd.randint(100, 3000),
                "currency": "USD",
                "status": rnd.choice(("paid",) * 8 + ("pending", "refunded")),
                "provider": "manual",
                "created_at": paid_at,
                "paid_at": paid_at,
            }
        )
    reservations = []
    for n in range(1, RESERVATIONS + 1):
        start = NOW + timedelta(hours=rnd.randint(-24 * 90, 24 * 5))
        reservations.append(
            {
                "id": n,
                "user_id": rnd.randint(1, USERS),
                "lot_id": rnd.randint(1, LOTS),
                "vehicle_number": "KA02",
                "status": rnd.choice(("completed",) * 6 + ("confirmed", "no_show", "cancelled")),
                "start_at": start,
                "end_at": start + timedelta(hours=2),
                "hourly_rate_cents": 200,
                "billing_increment_minutes": 60,
                "free_minutes": 0,
                "amount_cents": 400,
                "cancellation_fee_cents": 0,
                "currency": "USD",
                "created_at": start - timedelta(days=1),
                "updated_at": start - timedelta(days=1),
            }
        )
    for model, rows in (
        (Lot, lots),
        (Spot, spots),
        (User, users),
        (Booking, bookings),
        (Payment, payments),
        (Reservation, reservations),
    ):
        db.session.execute(sa.insert(model.__table__), rows)
    db.session.commit()


def sent_statements(app, run) -> list[tuple[str, object]]:
    """Every statement ``run()`` sends (in a request context of ``app``), with its parameters."""
    from sqlalchemy import event

    from app.platform.extensions import db

    sent: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    with app.test_request_context():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            run()
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
            db.session.remove()
    return sent


def explain(app, backend: str, statement: str, parameters) -> str:
    """The plan of ``statement`` with ``parameters``, as one text."""
    from app.platform.extensions import db

    prefix = {"sqlite": "EXPLAIN QUERY PLAN ", "mariadb": "EXPLAIN ", "postgresql": "EXPLAIN "}
    with app.app_context(), db.engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix[backend] + statement, parameters).all()
    return "\n".join(" | ".join(str(value) for value in row) for row in rows)


def analyze(app, backend: str) -> None:
    """Exact statistics for every table the plans read (on PostgreSQL also the visibility map,
    as autovacuum keeps it)."""
    from app.platform.extensions import db

    tables = ("lots", "spots", "users", "bookings", "payments", "reservations")
    with app.app_context(), db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        if backend == "mariadb":
            conn.exec_driver_sql(f"ANALYZE TABLE {', '.join(tables)}").all()
        elif backend == "postgresql":
            conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")


def lot_list_and_stats(app) -> list[tuple[str, object]]:
    from app.admin import dashboard
    from app.lots import service as lots

    query = {"q": None, "pin_code": None, "available": None, "near": None, "radius_km": None}

    def run():
        with time_machine.travel(NOW, tick=False):
            lots.list_lots(page=2, per_page=20, **query).value()
            lots.list_lots(page=1, per_page=20, **{**query, "available": True}).value()
            lots.list_lots(page=1, per_page=20, **{**query, "near": (12.95, 77.55)}).value()
            # A page of the dashboard's lots is as large a part of these 400 as the lot list's.
            dashboard.compute_stats(per_lot_limit=20)
            dashboard.compute_stats(per_lot_limit=20, after_lot=LOTS // 2)

    return sent_statements(app, run)


def expected_reads(statement: str) -> list[tuple[str, tuple[str, ...], bool]]:
    """(table, the indexes it may be read by, whether the index alone must do) for each table a
    captured statement reads that must never be read whole; lots and users are small."""
    if not statement.lstrip().upper().startswith("SELECT"):
        return []
    if "EXISTS (SELECT spots.id" in statement:
        return [("spots", SPOT_PROBES, True)]
    if re.search(r"FROM spots\s+WHERE spots\.lot_id IN", statement):
        return [("spots", SPOT_COUNTS, True)]
    if re.search(r"\bFROM stat_counters\b", statement):
        return [("stat_counters", COUNTER_KEYS, False)]
    for table, index, covering in (
        ("payments", "ix_payments_lot_paid", True),
        ("reservations", "ix_reservations_lot_status_start", False),
        ("bookings", "ix_bookings_status_started", False),
    ):
        if re.search(rf"\bFROM {table}\b", statement):
            return [(table, (index,), covering)]
    return []


def check_plan(backend: str, plan: str, table: str, indexes: tuple[str, ...], covering: bool):
    """Fail unless ``plan`` reads ``table`` through one of ``indexes`` (alone if ``covering``)."""
    if backend == "mariadb":
        rows = [line.split(" | ") for line in plan.splitlines()]
        reads = [row for row in rows if row[2] == table]
        assert reads, plan
        for _id, _kind, _table, access, _possible, key, *_rest, extra in reads:
            assert access in ("ref", "range", "index") and key in indexes, plan
            if access == "ref" and table == "payments":
                pytest.fail(
                    f"payments read by equality on a prefix, not this month's range:\n{plan}"
                )
            if covering:
                assert re.search(r"Using index($|;)", extra), plan
    elif backend == "sqlite":
        reads = [line for line in plan.splitlines() if re.search(rf"(SEARCH|SCAN) {table}\b", line)]
        assert reads, plan
        kind = "COVERING INDEX" if covering else "(COVERING )?INDEX"
        for line in reads:
            assert re.search(rf"{table} USING {kind} ({'|'.join(indexes)})\b", line), plan
    elif indexes == SPOT_PROBES:
        # PostgreSQL may answer "has a free spot" for every lot at once by hashing the free
        # spots (a semi-join) when it estimates that cheaper than a probe per lot: its choice.
        return
    else:
        assert f"Seq Scan on {table}" not in plan, plan
        names = "|".join(indexes)
        pattern = rf"Scan using ({names}) on {table}\b|Bitmap Index Scan on ({names})\b"
        assert re.search(pattern, plan), plan


def test_lot_list_and_dashboard_read_their_indexes_with_stale_or_fresh_statistics(planned_app):
    app, backend = planned_app
    for statistics in ("stale", "fresh"):
        if statistics == "fresh":
            analyze(app, backend)
        elif backend == "postgresql":
            # PostgreSQL plans a table it has never analyzed from guesses; autovacuum analyzes
            # it soon after rows arrive, so only its plans with statistics are meaningful.
            continue
        checked = set()
        for statement, parameters in lot_list_and_stats(app):
            reads = expected_reads(statement)
            if not reads:
                continue
            plan = explain(app, backend, statement, parameters)
            for table, indexes, covering in reads:
                try:
                    check_plan(backend, plan, table, indexes, covering)
                except AssertionError as exc:
                    raise AssertionError(f"{statistics} statistics:\n{statement}\n{exc}") from exc
                checked.add(table)
        assert checked == {"spots", "payments", "reservations", "stat_counters"}, statistics


def test_no_list_reads_a_whole_table(planned_app):
    """The lot list reads spots only for a page (or one probe per lot); the dashboard reads the
    kept counters and, for its page of lots, their spots, payments and reservations: no
    statement of either counts a whole table or reads users or bookings."""
    app, _backend = planned_app
    from app.admin import dashboard
    from app.lots import service as lots

    query = {"q": None, "pin_code": None, "near": None, "radius_km": None}

    def run():
        with time_machine.travel(NOW, tick=False):
            lots.list_lots(page=3, per_page=10, available=True, **query).value()
            stats = dashboard.compute_stats(per_lot_limit=10)
        assert len(stats["per_lot"]) == 10 and stats["lots"] == LOTS

    statements = [s for s, _ in sent_statements(app, run)]
    spot_reads = [s for s in statements if re.search(r"\bFROM spots\b", s)]
    assert spot_reads
    assert not [s for s in spot_reads if re.search(r"FROM spots\s+GROUP BY", s)]
    for table in ("payments", "reservations", "spots"):
        for statement in statements:
            if re.search(rf"\bFROM {table}\b", statement):
                assert re.search(rf"{table}\.lot_id (IN|= lots\.id)", statement), statement
    assert not [s for s in statements if re.search(r"\bFROM (users|bookings)\b", s)]


def test_the_lot_list_reads_its_page_in_index_order_and_counts_nothing(planned_app):
    """Unfiltered, ``GET /lots`` takes its total from the kept counter (no count of the lots)
    and its page from ``ix_lots_live_name`` in order (no sort of every live lot)."""
    app, backend = planned_app
    from app.lots import service as lots

    query = {"q": None, "pin_code": None, "available": None, "near": None, "radius_km": None}
    result = {}

    def run():
        result.update(lots.list_lots(page=2, per_page=20, **query).value())

    sent = sent_statements(app, run)
    assert result["total"] == LOTS and len(result["items"]) == 20
    assert not [s for s, _ in sent if re.search(r"count\(\*\)", s) and "FROM lots" in s]
    (page, parameters), *_ = [(s, p) for s, p in sent if re.search(r"ORDER BY lots\.name", s)]
    analyze(app, backend)
    plan = explain(app, backend, page, parameters)
    if backend == "sqlite":
        assert "ix_lots_live_name" in plan and "TEMP B-TREE" not in plan, plan
    elif backend == "mariadb":
        assert "ix_lots_live_name" in plan and "filesort" not in plan, plan
