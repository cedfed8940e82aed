"""Deterministic benchmark data, built with the app's own migrations and models.

Scale 1: 10,000 users, 1,000 lots, 50,000 spots with 30 % occupied (one active booking each),
200,000 past bookings (completed, each with a payment), 50,000 parking events with landmarks.
One active booking per user is a database rule (unique ``active_user_id``), so when 30 % of the
spots need more holders than there are users the seeder adds the users it needs.

On top of that, with ``heavy``: a ``heavy`` user with :func:`heavy_rows` past bookings (100,000
times scale, at least 20,000, so page 500 of 20 always exists) for the growth measurement. And:
``clients`` users that hold no booking (they drive the load: book, release,
save parking events, each with one active parking event and three landmarks), a ``burst`` lot of
50 spots with 32 users of its own, one admin, and an ``export`` user with ``export_rows`` past
bookings for the CSV export measurement. Every password is ``PASSWORD`` (one argon2id hash with
the app's parameters, computed once). Rows go in with bulk Core inserts in chunks on one
connection, generated as they are inserted (scale 10 is millions of rows); for that connection
only, MariaDB skips unique and foreign key checks and SQLite does not sync to disk. The schema is
the app's own, indexes included.

    python -m bench.seed --scale 0.01   # uses DATABASE_URL / APP_ENV like the app
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import insert, text

log = logging.getLogger("bench.seed")

PASSWORD = "bench-password-1"  # noqa: S105 - benchmark users on a throwaway database
SEED = 20261120
CHUNK = 10_000
BURST_SPOTS = 50
BURST_USERS = 32


@dataclass
class Plan:
    """How many rows of each kind; derived from ``scale``."""

    scale: float
    users: int
    lots: int
    spots_per_lot: int
    occupied: int
    past_bookings: int
    events: int
    clients: int
    export_rows: int
    heavy_rows: int = 0

    @classmethod
    def for_scale(
        cls, scale: float, clients: int = 64, export_rows: int = 0, heavy: bool = False
    ) -> Plan:
        lots = max(4, round(1000 * scale))
        spots = lots * 50
        occupied = round(spots * 0.30)
        return cls(
            scale=scale,
            users=max(round(10_000 * scale), occupied),
            lots=lots,
            spots_per_lot=50,
            occupied=occupied,
            past_bookings=max(100, round(200_000 * scale)),
            events=max(100, round(50_000 * scale)),
            clients=clients,
            export_rows=export_rows,
            heavy_rows=heavy_rows(scale) if heavy else 0,
        )


def heavy_rows(scale: float) -> int:
    """The heavy user's bookings: 100,000 times scale (1,000,000 at scale 10), at least 20,000."""
    return max(20_000, round(100_000 * scale))


@dataclass
class Seeded:
    """What the harness needs to know about the data (ids, counts, timings)."""

    plan: dict
    client_ids: list[int] = field(default_factory=list)
    burst_user_ids: list[int] = field(default_factory=list)
    burst_lot_id: int = 0
    admin_id: int = 0
    export_user_id: int = 0
    heavy_user_id: int = 0
    lot_ids_sample: list[int] = field(default_factory=list)
    password: str = PASSWORD
    seconds: float = 0.0
    rows: int = 0


def _chunks(rows: Iterable[dict], size: int = CHUNK):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class BulkInsert:
    """One table's INSERT as the driver's own ``executemany`` of value tuples.

    The rows go through each column type's bind processor (what SQLAlchemy would send), and
    columns the rows leave out take their scalar defaults, but without SQLAlchemy's per-row
    parameter handling: a third of the seeding's CPU. PyMySQL turns the ``executemany`` into
    multi-row ``INSERT ... VALUES`` statements.
    """

    def __init__(self, table: sa.Table, dialect, columns: list[str]):
        given = {name: sa.bindparam(name) for name in columns}
        compiled = insert(table).values(given).compile(dialect=dialect)
        self.sql = compiled.string
        self.positional = compiled.positiontup is not None
        self.names = list(compiled.positiontup or compiled.binds)
        self.defaults = {}
        for name in self.names:
            if name not in given:
                default = table.c[name].default
                if default is None or not default.is_scalar:
                    raise ValueError(f"{table.name}.{name}: give a value (no scalar default)")
                self.defaults[name] = default.arg
        self.processors = [_bind_processor(table.c[name].type, dialect) for name in self.names]
        quote = dialect.identifier_preparer.quote
        self.prefix = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in self.names)}) "
            "VALUES "
        )

    def values(self, rows: list[dict], escape) -> Iterable[str]:
        """MariaDB: each row as its ``(...)`` literal, for a multi-row INSERT the seeder sends
        itself (PyMySQL's per-value escaping through dict parameters was half the seeding's
        CPU). ``escape`` is the PyMySQL connection's (it knows the server's SQL mode); it
        writes the strings and anything unusual."""
        for values in self.converted(rows):
            yield "(" + ",".join([_mysql_literal(value, escape) for value in values]) + ")"

    def params(self, rows: list[dict]) -> list:
        converted = self.converted(rows)
        if self.positional:
            return [tuple(values) for values in converted]
        return [dict(zip(self.names, values, strict=True)) for values in converted]

    def converted(self, rows: list[dict]) -> list[list]:
        """Each row's values in ``names`` order, through the columns' bind processors."""
        names, processors, defaults = self.names, self.processors, self.defaults
        return [
            [
                value if process is None or value is None else process(value)
                for value, process in zip(
                    [row[name] if name in row else defaults[name] for name in names],
                    processors,
                    strict=True,
                )
            ]
            for row in rows
        ]


def _mysql_literal(value, escape) -> str:
    """A value as MariaDB SQL text, as PyMySQL would write it."""
    if value is None:
        return "NULL"
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is datetime:
        return "'" + value.isoformat(" ", "microseconds") + "'"
    if kind is bool:
        return "1" if value else "0"
    if kind is float:
        text = repr(value)
        if text in ("inf", "-inf", "nan"):
            raise ValueError(f"{text} cannot be stored in MariaDB")
        return text
    return escape(value)


# At most this much SQL per INSERT (MariaDB's max_allowed_packet is 16 MB by default).
MAX_STATEMENT_BYTES = 1 << 20


def _naive_utc(value: datetime) -> datetime:
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


def _sqlite_datetime(value: datetime) -> str:
    # SQLAlchemy's SQLite DATETIME text, "YYYY-MM-DD HH:MM:SS.ffffff".
    return _naive_utc(value).isoformat(" ", "microseconds")


def _bind_processor(column_type, dialect):
    """What SQLAlchemy does to a value of ``column_type`` before the driver sees it. A
    ``UTCDateTime`` (a quarter of the seeding's rows are times) in one call instead of two
    layers of processors: naive UTC, and on SQLite its DATETIME text."""
    from app.platform.models import UTCDateTime

    if isinstance(column_type, UTCDateTime):
        return _sqlite_datetime if dialect.name == "sqlite" else _naive_utc
    return column_type.dialect_impl(dialect).bind_processor(dialect)


def defer_indexes(conn: sa.Connection) -> list[str]:
    """SQLite: drop the secondary indexes for the load and return the statements that build
    them again. Inserting millions of keys into a B-tree at random costs more than building it
    from sorted keys afterwards (MariaDB keeps its indexes: those backing a foreign key cannot
    be dropped)."""
    if conn.dialect.name != "sqlite":
        return []
    rows = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ).all()
    for name, _sql in rows:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    conn.commit()
    return [sql for _name, sql in rows]


def refresh_statistics(conn: sa.Connection, tables: list[str]) -> None:
    """Plan statistics of the loaded ``tables``, before the recount's joins and the measured runs.
    MariaDB and PostgreSQL recalculate them in the background, which a fast load can outrun
    (seen once at scale 10 on MariaDB: the recount right after the load ran past its 30 s read
    timeout). SQLite keeps none unless asked, as the app's own databases do."""
    if conn.dialect.name in ("mysql", "mariadb"):
        for table in tables:
            conn.exec_driver_sql(f"ANALYZE TABLE {table}").all()
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE")
    conn.commit()


def empty_write_ahead_log(engine) -> None:
    """SQLite: move the load out of the write-ahead log into the database file and empty the
    log. The seeding process exits without closing its connections, which leaves the whole load
    in the log (about 1 GB at scale 10) for the measured servers to check against and copy back
    during their first runs."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        busy, _frames, _copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    if busy:
        raise RuntimeError("the seeded database's write-ahead log could not be emptied")


def seeding_connection(engine) -> sa.Connection:
    """A connection for bulk loading: on MariaDB without unique and foreign key checks (the
    seeder's ids are unique and its references exist), on SQLite without syncing to disk and
    with a large page cache."""
    conn = engine.connect()
    # On the driver's connection, before SQLAlchemy begins a transaction (SQLite refuses the
    # pragma inside one).
    cursor = conn.connection.dbapi_connection.cursor()
    if engine.dialect.name in ("mysql", "mariadb"):
        cursor.execute("SET SESSION unique_checks = 0, foreign_key_checks = 0")
    elif engine.dialect.name == "sqlite":
        cursor.execute("PRAGMA synchronous = OFF")
        # 1 GB of page cache instead of 2 MB: the bookings' indexes take random inserts.
        cursor.execute("PRAGMA cache_size = -1000000")
    cursor.close()
    return conn


def advance_id_sequences(db) -> None:
    """PostgreSQL: ids inserted explicitly leave each table's id sequence behind; move it past
    them, so the app's own inserts do not collide (MariaDB and SQLite follow the largest id)."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in db.metadata.sorted_tables:
        if "id" in table.c and isinstance(table.c.id.type, sa.Integer):
            db.session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE(MAX(id), 0) + 1, false) FROM {table.name}"
                )
            )
    db.session.commit()


def seed(
    app, scale: float, *, clients: int = 64, export_rows: int = 0, heavy: bool = False
) -> Seeded:
    """Apply migrations to an empty database and fill it; returns ids the harness uses."""
    from flask_migrate import upgrade

    from app.accounts.models import User
    from app.accounts.passwords import hash_password
    from app.bookings.models import Booking
    from app.lots.models import Lot, Spot
    from app.parking.models import Landmark, ParkingEvent
    from app.payments.models import Payment
    from app.platform import rollups
    from app.platform.extensions import db

    t0 = time.perf_counter()
    # Times relative to today (midnight UTC): exports cover the last 366 days of real time.
    NOW = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)  # noqa: N806
    rng = random.Random(SEED)
    plan = Plan.for_scale(scale, clients=clients, export_rows=export_rows, heavy=heavy)
    out = Seeded(plan=asdict(plan))
    total = 0
    conn: sa.Connection

    inserts: dict[str, BulkInsert] = {}

    def put_chunk(model, chunk: list[dict]) -> None:
        nonlocal total
        table = model.__table__
        if table.name not in inserts:
            inserts[table.name] = BulkInsert(table, conn.dialect, list(chunk[0]))
        bulk = inserts[table.name]
        if conn.dialect.name in ("mysql", "mariadb"):
            driver = conn.connection.dbapi_connection
            cursor = driver.cursor()
            statement, size = [], 0
            for row in bulk.values(chunk, driver.escape):
                if statement and size + len(row) > MAX_STATEMENT_BYTES:
                    cursor.execute(bulk.prefix + ",".join(statement))
                    statement, size = [], 0
                statement.append(row)
                size += len(row) + 1
            if statement:
                cursor.execute(bulk.prefix + ",".join(statement))
            cursor.close()
        else:
            conn.exec_driver_sql(bulk.sql, bulk.params(chunk))
        total += len(chunk)

    def put(model, rows: Iterable[dict], then=None) -> None:
        """Insert ``rows`` in chunks; ``then(chunk)`` runs after each (dependent rows)."""
        for chunk in _chunks(rows):
            put_chunk(model, chunk)
            if then is not None:
                then(chunk)
            conn.commit()

    with app.app_context():
        upgrade(directory=app.config.get("MIGRATIONS_DIR", "migrations"))
        conn = seeding_connection(db.engine)
        # The dashboard's counter triggers would run per seeded row: they are dropped for the
        # load, and the counters are recounted from the tables before they come back.
        for statement in rollups.drop_triggers(conn.dialect.name):
            conn.execute(text(statement))
        conn.commit()
        deferred_indexes = defer_indexes(conn)
        password_hash = hash_password(PASSWORD)
        created = NOW - timedelta(days=400)

        # --- users: regular, clients, burst users, admin, export user -----------------------
        n_regular = plan.users
        user_rows = []
        uid = 0

        def user(name: str, role: str = "user") -> int:
            nonlocal uid
            uid += 1
            user_rows.append(
                {
                    "id": uid,
                    "username": name,
                    "email": f"{name}@bench.parkmind.test",
                    "password_hash": password_hash,
                    "full_name": f"Bench {name}",
                    "role": role,
                    "is_active": True,
                    "vehicle_number": f"KA{uid:06d}",
                    "created_at": created,
                    "updated_at": created,
                }
            )
            return uid

        regular = [user(f"user{i:06d}") for i in range(n_regular)]
        out.client_ids = [user(f"client{i:04d}") for i in range(plan.clients)]
        out.burst_user_ids = [user(f"burst{i:03d}") for i in range(BURST_USERS)]
        out.admin_id = user("benchadmin", role="admin")
        out.export_user_id = user("exporter")
        if plan.heavy_rows:
            out.heavy_user_id = user("heavy")
        put(User, user_rows)

        # --- lots and spots (plus the burst lot) -------------------------------------------
        lot_rows, spot_rows = [], []
        spot_id = 0
        lot_spots: dict[int, list[int]] = {}
        for lot_id in range(1, plan.lots + 2):
            is_burst = lot_id == plan.lots + 1
            lot_rows.append(
                {
                    "id": lot_id,
                    "name": "Burst Lot" if is_burst else f"Lot {lot_id:05d}",
                    "address": f"{lot_id} Bench Street",
                    "pin_code": f"{560000 + lot_id % 100:06d}",
                    "latitude": 12.9 + rng.random() * 0.2,
                    "longitude": 77.5 + rng.random() * 0.2,
                    "levels": 2,
                    "hourly_rate_cents": rng.choice((100, 150, 200, 250, 300)),
                    "billing_increment_minutes": rng.choice((15, 30, 60)),
                    "free_minutes": rng.choice((0, 10, 15)),
                    "daily_max_cents": rng.choice((None, 1500, 2000)),
                    "created_at": created,
                    "updated_at": created,
                }
            )
            count = BURST_SPOTS if is_burst else plan.spots_per_lot
            ids = []
            for number in range(1, count + 1):
                spot_id += 1
                ids.append(spot_id)
                spot_rows.append(
                    {
                        "id": spot_id,
                        "lot_id": lot_id,
                        "number": number,
                        "level": 1 if number <= count // 2 else 2,
                        "status": "available",
                        "is_occupied": False,
                    }
                )
            lot_spots[lot_id] = ids
        out.burst_lot_id = plan.lots + 1
        out.lot_ids_sample = rng.sample(range(1, plan.lots + 1), min(plan.lots, 200))

        # --- active bookings: 30 % of the regular lots' spots, one per regular user ------------
        regular_spots = [s for lot_id in range(1, plan.lots + 1) for s in lot_spots[lot_id]]
        occupied = set(rng.sample(regular_spots, plan.occupied))
        spot_lot = {row["id"]: row["lot_id"] for row in spot_rows}
        lot_by_id = {row["id"]: row for row in lot_rows}
        for row in spot_rows:
            row["is_occupied"] = row["id"] in occupied
        put(Lot, lot_rows)
        put(Spot, spot_rows)

        payment_rows: list[dict] = []
        booking_id = 0

        def booking(user_id: int, sid: int, started: datetime, ended: datetime | None) -> dict:
            nonlocal booking_id
            booking_id += 1
            lot = lot_by_id[spot_lot[sid]]
            row = {
                "id": booking_id,
                "user_id": user_id,
                "lot_id": lot["id"],
                "spot_id": sid,
                "active_spot_id": sid if ended is None else None,
                "active_user_id": user_id if ended is None else None,
                "vehicle_number": f"KA{user_id:06d}",
                "remarks": None,
                "status": "active" if ended is None else "completed",
                "started_at": started,
                "ended_at": ended,
                "duration_minutes": None,
                "hourly_rate_cents": lot["hourly_rate_cents"],
                "billing_increment_minutes": lot["billing_increment_minutes"],
                "free_minutes": lot["free_minutes"],
                "daily_max_cents": lot["daily_max_cents"],
                "cost_cents": None,
                "currency": "USD",
                "created_at": started,
                "updated_at": ended or started,
            }
            if ended is not None:
                minutes = max(1, int((ended - started).total_seconds() // 60))
                row["duration_minutes"] = minutes
                row["cost_cents"] = lot["hourly_rate_cents"] * ((minutes + 59) // 60)
                payment_rows.append(
                    {
                        "id": booking_id,
                        "booking_id": booking_id,
                        "user_id": user_id,
                        "lot_id": lot["id"],
                        "amount_cents": row["cost_cents"],
                        "currency": "USD",
                        "status": "paid",
                        "created_at": ended,
                        "paid_at": ended,
                    }
                )
            return row

        holders = rng.sample(regular, plan.occupied)
        people = regular + out.client_ids

        def all_bookings():
            for user_id, sid in zip(holders, sorted(occupied), strict=True):
                started = NOW - timedelta(minutes=rng.randint(5, 600))
                yield booking(user_id, sid, started, None)
            # Past bookings: the clients get some history too (GET /bookings has pages to show).
            for _ in range(plan.past_bookings):
                started = NOW - timedelta(minutes=rng.randint(60, 360 * 24 * 60))
                ended = started + timedelta(minutes=rng.randint(5, 600))
                yield booking(rng.choice(people), rng.choice(regular_spots), started, ended)
            # Evenly spread over 350 days: the export's and the heavy user's histories.
            histories = (
                (out.export_user_id, plan.export_rows),
                (out.heavy_user_id, plan.heavy_rows),
            )
            for user_id, rows in histories:
                step = 350 * 86400 / max(1, rows)
                for i in range(rows):
                    started = NOW - timedelta(days=360) + timedelta(seconds=int(i * step))
                    ended = started + timedelta(minutes=90)
                    yield booking(user_id, rng.choice(regular_spots), started, ended)

        def put_payments(_chunk) -> None:
            if payment_rows:
                put_chunk(Payment, payment_rows)
                payment_rows.clear()

        # Each chunk's payments go in right after it (their bookings exist by then).
        put(Booking, all_bookings(), then=put_payments)

        # --- parking events with landmarks; each client has one active event ------------------
        event_rows, landmark_rows = [], []
        event_id = landmark_id = 0

        def event(user_id: int, status: str, parked: datetime) -> None:
            nonlocal event_id, landmark_id
            event_id += 1
            lat, lng = 12.9 + rng.random() * 0.2, 77.5 + rng.random() * 0.2
            event_rows.append(
                {
                    "id": event_id,
                    "user_id": user_id,
                    "latitude": lat,
                    "longitude": lng,
                    "accuracy_m": 8.0,
                    "address": f"{event_id} Memory Lane",
                    "location_type": rng.choice(("outdoor", "indoor")),
                    "level": rng.choice((None, "B1", "2")),
                    "spot_label": f"S{event_id % 97}",
                    "notes": "Near the blue door",
                    "parked_at": parked,
                    "status": status,
                    "paused_seconds": 0.0,
                    "created_at": parked,
                    "updated_at": parked,
                    "expired_at": parked + timedelta(hours=72) if status == "expired" else None,
                }
            )
            for k in range(rng.randint(1, 3)):
                landmark_id += 1
                landmark_rows.append(
                    {
                        "id": landmark_id,
                        "event_id": event_id,
                        "name": ("Blue door", "Lift B", "Pillar 7")[k],
                        "description": "Seen when walking out",
                        "latitude": lat + 0.0001 * k,
                        "longitude": lng,
                        "created_at": parked,
                        "updated_at": parked,
                    }
                )

        for user_id in out.client_ids:
            event(user_id, "active", NOW - timedelta(hours=1))
        for _ in range(plan.events):
            event(rng.choice(regular), "expired", NOW - timedelta(days=rng.randint(4, 300)))
        put(ParkingEvent, event_rows)
        put(Landmark, landmark_rows)
        for statement in deferred_indexes:
            conn.exec_driver_sql(statement)
        conn.commit()
        refresh_statistics(conn, list(inserts))
        rollups.recount(conn)
        for statement in rollups.create_triggers(conn.dialect.name):
            conn.execute(text(statement))
        conn.commit()
        conn.close()
        advance_id_sequences(db)
        empty_write_ahead_log(db.engine)

    out.seconds = round(time.perf_counter() - t0, 2)
    out.rows = total
    return out


def main() -> None:
    """Seed the database named by DATABASE_URL (empty) at ``--scale``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--export-rows", type=int, default=0)
    parser.add_argument("--heavy", action="store_true", help="add the heavy user")
    args = parser.parse_args()
    from app import create_app

    app = create_app()
    result = seed(
        app, args.scale, clients=args.clients, export_rows=args.export_rows, heavy=args.heavy
    )
    print(json.dumps({"rows": result.rows, "seconds": result.seconds, "plan": result.plan}))


if __name__ == "__main__":
    main()
