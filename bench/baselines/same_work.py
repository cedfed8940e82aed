"""Each measured endpoint's work written plainly: Flask, PyJWT, SQLAlchemy Core, redis-py.

Same paths, same tokens (HS256 with ``JWT_SECRET_KEY``), the same session lookup per request
(a revoked session or inactive user is a 401), the same data read or written, the same response
fields, and the same caching where the app caches (Redis, 30 s, a version key per namespace).
Configured from DATABASE_URL, REDIS_URL and JWT_SECRET_KEY, like the app.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import redis
from flask import Flask, Response, g, request
from sqlalchemy import create_engine, event, text

DATABASE_URL = os.environ["DATABASE_URL"]
SECRET = os.environ["JWT_SECRET_KEY"]
CURRENCY = os.environ.get("CURRENCY", "USD")
IS_SQLITE = DATABASE_URL.startswith("sqlite")
IS_POSTGRESQL = DATABASE_URL.startswith("postgresql")
# psycopg has no lastrowid: PostgreSQL returns the new id from the INSERT itself.
RETURNING_ID = " RETURNING id" if IS_POSTGRESQL else ""


def new_id(result) -> int:
    """The id of the row an INSERT (ending in ``RETURNING_ID``) created."""
    return result.scalar_one() if IS_POSTGRESQL else result.lastrowid


if IS_SQLITE:
    engine = create_engine(DATABASE_URL, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        immediate = connection.get_execution_options().get("immediate")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
else:
    engine = create_engine(
        DATABASE_URL, pool_pre_ping=True, pool_recycle=280, pool_size=10, max_overflow=10
    )

cache = redis.Redis.from_url(os.environ["REDIS_URL"]) if os.environ.get("REDIS_URL") else None
app = Flask(__name__)


def iso(value) -> str | None:
    """A stored naive-UTC time (or SQLite text) as ISO 8601 with ``Z``."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=None).isoformat() + "Z"


def error(status: int, code: str) -> Response:
    body = json.dumps({"error": {"status": status, "code": code, "message": code}})
    return Response(body, status, mimetype="application/json")


def reply(payload, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(payload), status, mimetype="application/json", headers=headers)


@app.before_request
def authenticate():
    """Verify the Bearer token and its session, like the app does on every protected route."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return error(401, "token_missing")
    try:
        claims = jwt.decode(header[7:], SECRET, algorithms=["HS256"])
    except jwt.PyJWTError:
        return error(401, "token_invalid")
    if claims.get("type") != "access":
        return error(401, "token_invalid")
    g.conn = engine.connect()
    row = g.conn.execute(
        text(
            "SELECT s.revoked_at, u.id, u.role, u.is_active FROM auth_sessions s "
            "JOIN users u ON u.id = s.user_id WHERE s.id = :sid AND s.user_id = :uid"
        ),
        {"sid": claims.get("sid"), "uid": int(claims["sub"])},
    ).first()
    if row is None or row.revoked_at is not None or not row.is_active:
        return error(401, "token_revoked")
    g.user_id, g.role = row.id, row.role
    return None


@app.teardown_request
def release(exc):
    conn = g.pop("conn", None)
    if conn is not None:
        conn.close()


def cached(namespace: str, params: str, compute):
    """The cached JSON text for ``params``, or ``compute()`` stored for 30 s."""
    if cache is None:
        return compute()
    version = cache.get(f"bench_baseline:{namespace}:version")
    if version is None:
        version = uuid.uuid4().hex.encode()
        cache.set(f"bench_baseline:{namespace}:version", version)
    digest = hashlib.sha256(params.encode()).hexdigest()[:32]
    key = f"bench_baseline:{namespace}:{version.decode()}:{digest}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, ex=30)
    return value


def invalidate(*namespaces: str) -> None:
    if cache is not None:
        for namespace in namespaces:
            cache.set(f"bench_baseline:{namespace}:version", uuid.uuid4().hex)


def pricing(row) -> dict:
    return {
        "hourly_rate_cents": row.hourly_rate_cents,
        "billing_increment_minutes": row.billing_increment_minutes,
        "free_minutes": row.free_minutes,
        "daily_max_cents": row.daily_max_cents,
        "cancellation_fee_cents": row.cancellation_fee_cents,
        "currency": CURRENCY,
    }


def lot_dict(row) -> dict:
    return {
        "id": row.id,
        "name": row.name,
        "address": row.address,
        "pin_code": row.pin_code,
        "latitude": row.latitude,
        "longitude": row.longitude,
        "levels": row.levels,
        "free_spots": int(row.free or 0),
        "total_spots": int(row.total or 0),
        "free_by_feature": {name: int(getattr(row, f"free_{name}") or 0) for name in FEATURES},
        "pricing": pricing(row),
    }


# Spot features are bits of spots.feature_mask; the contract shows free spots per feature.
FEATURES = ("accessible", "ev_charging", "covered", "near_exit")
FREE = "s.status = 'available' AND s.is_occupied = false"
COUNTS = (
    "SUM(CASE WHEN s.status <> 'removed' THEN 1 ELSE 0 END) AS total, "
    f"SUM(CASE WHEN {FREE} THEN 1 ELSE 0 END) AS free, "
    + ", ".join(
        f"SUM(CASE WHEN {FREE} AND (s.feature_mask & {1 << bit}) <> 0 THEN 1 ELSE 0 END)"
        f" AS free_{name}"
        for bit, name in enumerate(FEATURES)
    )
)
LOT_COLUMNS = (
    "l.id, l.name, l.address, l.pin_code, l.latitude, l.longitude, l.levels, "
    "l.hourly_rate_cents, l.billing_increment_minutes, l.free_minutes, l.daily_max_cents, "
    "l.cancellation_fee_cents"
)


def page_args() -> tuple[int, int]:
    page = int(request.args.get("page", 1))
    per_page = min(100, int(request.args.get("per_page", 20)))
    return page, per_page


@app.get("/api/v1/lots")
def lots():
    """A page of lots with free and total counts (cached like the app's list)."""
    page, per_page = page_args()

    def compute():
        conn = g.conn
        total = conn.execute(text("SELECT COUNT(*) FROM lots WHERE deleted_at IS NULL")).scalar()
        rows = conn.execute(
            text(
                f"SELECT {LOT_COLUMNS}, {COUNTS} FROM (SELECT * FROM lots WHERE deleted_at IS NULL "
                "ORDER BY name, id LIMIT :limit OFFSET :offset) l "
                "LEFT JOIN spots s ON s.lot_id = l.id "
                f"GROUP BY {LOT_COLUMNS} ORDER BY l.name, l.id"
            ),
            {"limit": per_page, "offset": (page - 1) * per_page},
        ).all()
        body = {
            "items": [lot_dict(row) for row in rows],
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": math.ceil(total / per_page) if total else 0,
        }
        return json.dumps(body).encode()

    return Response(cached("lots", f"{page}:{per_page}", compute), mimetype="application/json")


@app.get("/api/v1/lots/<int:lot_id>")
def lot(lot_id: int):
    """One lot with its counts."""
    row = g.conn.execute(
        text(
            f"SELECT {LOT_COLUMNS}, {COUNTS} FROM lots l LEFT JOIN spots s ON s.lot_id = l.id "
            f"WHERE l.id = :id AND l.deleted_at IS NULL GROUP BY {LOT_COLUMNS}"
        ),
        {"id": lot_id},
    ).first()
    if row is None:
        return error(404, "lot_not_found")
    return reply(lot_dict(row))


BOOKING_SELECT = (
    "SELECT b.id, b.lot_id, l.name AS lot_name, b.spot_id, s.number, s.level, b.vehicle_number, "
    "b.status, b.started_at, b.ended_at, b.duration_minutes, b.hourly_rate_cents, "
    "b.billing_increment_minutes, b.free_minutes, b.daily_max_cents, b.cost_cents, b.currency, "
    "b.remarks FROM bookings b JOIN lots l ON l.id = b.lot_id JOIN spots s ON s.id = b.spot_id "
)


def booking_dict(row) -> dict:
    cost_so_far = None
    if row.status == "active":
        from app.bookings.pricing import PriceRule, compute_cost_cents

        started = row.started_at
        if isinstance(started, str):
            started = datetime.fromisoformat(started)
        seconds = max(0.0, (datetime.now(UTC).replace(tzinfo=None) - started).total_seconds())
        rule = PriceRule(
            hourly_rate_cents=row.hourly_rate_cents,
            billing_increment_minutes=row.billing_increment_minutes,
            free_minutes=row.free_minutes,
            daily_max_cents=row.daily_max_cents,
        )
        cost_so_far = compute_cost_cents(rule, seconds)
    return {
        "id": row.id,
        "lot": {"id": row.lot_id, "name": row.lot_name},
        "spot": {"id": row.spot_id, "number": row.number, "level": row.level},
        "vehicle_number": row.vehicle_number,
        "status": row.status,
        "started_at": iso(row.started_at),
        "ended_at": iso(row.ended_at),
        "duration_minutes": row.duration_minutes,
        "hourly_rate_cents": row.hourly_rate_cents,
        "billing_increment_minutes": row.billing_increment_minutes,
        "free_minutes": row.free_minutes,
        "daily_max_cents": row.daily_max_cents,
        "cost_cents": row.cost_cents,
        "cost_so_far_cents": cost_so_far,
        "currency": row.currency,
        "remarks": row.remarks,
    }


# As the app counts a history: up to this many rows (then ``total_exact`` is false).
TOTAL_CAP = 10_000


def next_cursor(started_at, booking_id: int) -> str:
    """The opaque cursor after a booking: base64url of ``["<UTC ISO time>", id]``."""
    if isinstance(started_at, str):
        started_at = datetime.fromisoformat(started_at)
    if started_at.tzinfo is None:
        started_at = started_at.replace(tzinfo=UTC)
    raw = json.dumps([started_at.astimezone(UTC).isoformat(), booking_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@app.get("/api/v1/bookings")
def bookings():
    """The caller's bookings, newest first: the page's ids from the (user, started_at, id) index,
    then their rows; the total counted up to TOTAL_CAP."""
    page, per_page = page_args()
    conn = g.conn
    keys = conn.execute(
        text(
            "SELECT id, started_at FROM bookings WHERE user_id = :uid "
            "ORDER BY started_at DESC, id DESC LIMIT :limit OFFSET :offset"
        ),
        {"uid": g.user_id, "limit": per_page + 1, "offset": (page - 1) * per_page},
    ).all()
    more, keys = len(keys) > per_page, keys[:per_page]
    ids = [key[0] for key in keys]
    rows = []
    if ids:
        marks = ", ".join(f":id{i}" for i in range(len(ids)))
        by_id = {
            row.id: row
            for row in conn.execute(
                text(BOOKING_SELECT + f"WHERE b.id IN ({marks})"),
                {f"id{i}": booking_id for i, booking_id in enumerate(ids)},
            )
        }
        rows = [by_id[booking_id] for booking_id in ids if booking_id in by_id]
    total = conn.execute(
        text(
            "SELECT COUNT(*) FROM (SELECT 1 FROM bookings WHERE user_id = :uid LIMIT :cap) capped"
        ),
        {"uid": g.user_id, "cap": TOTAL_CAP + 1},
    ).scalar()
    exact, total = total <= TOTAL_CAP, min(total, TOTAL_CAP)
    return reply(
        {
            "items": [booking_dict(row) for row in rows],
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": math.ceil(total / per_page) if total else 0,
            "total_exact": exact,
            "next_cursor": next_cursor(keys[-1][1], keys[-1][0]) if more else None,
        }
    )


EVENT_COLUMNS = (
    "id, user_id, status, latitude, longitude, accuracy_m, address, location_type, level, "
    "spot_label, notes, booking_id, lot_id, photo_upload_id, client_uuid, parked_at, "
    "retrieval_started_at, retrieval_paused_at, paused_seconds, retrieval_completed_at, "
    "expired_at, distance_m, expected_seconds, found, meter_expires_at, created_at, updated_at"
)
TIME_FIELDS = {
    "parked_at",
    "retrieval_started_at",
    "retrieval_paused_at",
    "retrieval_completed_at",
    "expired_at",
    "meter_expires_at",
    "created_at",
    "updated_at",
}


def event_dict(row, landmarks: list, score) -> dict:
    body = {
        key: (iso(value) if key in TIME_FIELDS else value) for key, value in row._mapping.items()
    }
    body["found"] = None if row.found is None else bool(row.found)
    body["photo_url"] = None
    body["landmarks"] = [
        {
            "id": mark.id,
            "event_id": mark.event_id,
            "name": mark.name,
            "description": mark.description,
            "latitude": mark.latitude,
            "longitude": mark.longitude,
            "photo_upload_id": mark.photo_upload_id,
            "photo_url": None,
            "created_at": iso(mark.created_at),
            "updated_at": iso(mark.updated_at),
        }
        for mark in landmarks
    ]
    body["score"] = None if score is None else {"total": float(score.total)}
    return body


@app.get("/api/v1/parking-events/latest-active")
def latest_active():
    """The newest open parking event with its landmarks and score."""
    conn = g.conn
    row = conn.execute(
        text(
            f"SELECT {EVENT_COLUMNS} FROM parking_events WHERE user_id = :uid "
            "AND status IN ('active', 'retrieving') ORDER BY parked_at DESC, id DESC LIMIT 1"
        ),
        {"uid": g.user_id},
    ).first()
    if row is None:
        return error(404, "no_active_event")
    landmarks = conn.execute(
        text("SELECT * FROM landmarks WHERE event_id = :id ORDER BY id"), {"id": row.id}
    ).all()
    score = conn.execute(
        text("SELECT total FROM retrieval_scores WHERE event_id = :id"), {"id": row.id}
    ).first()
    return reply(event_dict(row, landmarks, score))


@app.post("/api/v1/parking-events")
def create_event():
    """Save where the car is."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return error(400, "bad_request")
    try:
        lat, lng = float(data["latitude"]), float(data["longitude"])
    except (KeyError, TypeError, ValueError):
        return error(422, "validation_error")
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return error(422, "validation_error")
    now = datetime.now(UTC).replace(tzinfo=None)
    values = {
        "user_id": g.user_id,
        "latitude": lat,
        "longitude": lng,
        "accuracy_m": data.get("accuracy_m"),
        "address": data.get("address"),
        "location_type": data.get("location_type", "outdoor"),
        "level": data.get("level"),
        "spot_label": data.get("spot_label"),
        "notes": data.get("notes"),
        "now": now,
    }
    conn = g.conn
    conn.commit()  # end the read transaction of the token check
    with conn.begin():
        result = conn.execute(
            text(
                "INSERT INTO parking_events (user_id, latitude, longitude, accuracy_m, address, "
                "location_type, level, spot_label, notes, parked_at, status, paused_seconds, "
                "created_at, updated_at) VALUES (:user_id, :latitude, :longitude, :accuracy_m, "
                ":address, :location_type, :level, :spot_label, :notes, :now, 'active', 0, "
                ":now, :now)" + RETURNING_ID
            ),
            values,
        )
        event_id = new_id(result)
        row = conn.execute(
            text(f"SELECT {EVENT_COLUMNS} FROM parking_events WHERE id = :id"), {"id": event_id}
        ).first()
    return reply(event_dict(row, [], None), 201, {"Location": f"/api/v1/parking-events/{event_id}"})


@app.get("/api/v1/admin/stats")
def admin_stats():
    """Occupancy, revenue and users (admins only; cached like the app's)."""
    if g.role != "admin":
        return error(403, "forbidden")

    def compute():
        # The same work as the app: totals from the kept counters (stat_counters), per-lot
        # figures for the first 50 live lots by id.
        conn = g.conn
        now = datetime.now(UTC).replace(tzinfo=None)
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        month = day.replace(day=1)
        totals = dict(
            conn.execute(
                text(
                    "SELECT name, SUM(value) FROM stat_counters WHERE name IN ('users', "
                    "'active_users', 'lots', 'spots', 'occupied_spots', 'active_bookings') "
                    "AND slot = 0 GROUP BY name"
                )
            ).all()
        )
        slot = lambda moment: int(moment.replace(tzinfo=UTC).timestamp()) // 900  # noqa: E731
        today_total, month_total = conn.execute(
            text(
                "SELECT COALESCE(SUM(CASE WHEN slot >= :day THEN value ELSE 0 END), 0), "
                "COALESCE(SUM(value), 0) FROM stat_counters WHERE name = 'revenue' "
                "AND slot >= :month"
            ),
            {"day": slot(day), "month": slot(month)},
        ).one()
        lots = conn.execute(
            text("SELECT id, name FROM lots WHERE deleted_at IS NULL ORDER BY id LIMIT 51")
        ).all()
        more, lots = len(lots) > 50, lots[:50]
        ids = ",".join(str(int(row.id)) for row in lots) or "0"
        counts = {
            row[0]: row[1:]
            for row in conn.execute(
                text(
                    "SELECT lot_id, SUM(CASE WHEN status <> 'removed' THEN 1 ELSE 0 END), "
                    "SUM(CASE WHEN status <> 'removed' AND is_occupied = true THEN 1 ELSE 0 END), "
                    "SUM(CASE WHEN status = 'available' AND is_occupied = false THEN 1 ELSE 0 "
                    f"END) FROM spots WHERE lot_id IN ({ids}) GROUP BY lot_id"
                )
            )
        }
        revenue = {
            row[0]: row[1:]
            for row in conn.execute(
                text(
                    "SELECT lot_id, SUM(CASE WHEN paid_at >= :day THEN amount_cents ELSE 0 END), "
                    f"SUM(amount_cents) FROM payments WHERE lot_id IN ({ids}) "
                    "AND status = 'paid' AND paid_at >= :month GROUP BY lot_id"
                ),
                {"day": day, "month": month},
            )
        }
        booked = {
            row[0]: row[1:]
            for row in conn.execute(
                text(
                    "SELECT lot_id, SUM(CASE WHEN status = 'confirmed' AND start_at >= :now "
                    "THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'no_show' AND start_at < :now "
                    f"THEN 1 ELSE 0 END) FROM reservations WHERE lot_id IN ({ids}) "
                    "AND status IN ('confirmed', 'no_show') AND start_at >= :month GROUP BY lot_id"
                ),
                {"now": now, "month": month},
            )
        }
        per_lot = []
        for row in lots:
            total, occupied, free = counts.get(row.id, (0, 0, 0))
            today, month_cents = revenue.get(row.id, (0, 0))
            upcoming, no_shows = booked.get(row.id, (0, 0))
            total, occupied = int(total or 0), int(occupied or 0)
            per_lot.append(
                {
                    "id": row.id,
                    "name": row.name,
                    "total_spots": total,
                    "occupied_spots": occupied,
                    "free_spots": int(free or 0),
                    "occupancy_percent": round(100.0 * occupied / total, 2) if total else 0.0,
                    "revenue_today_cents": int(today or 0),
                    "revenue_month_cents": int(month_cents or 0),
                    "upcoming_reservations": int(upcoming or 0),
                    "no_shows_month": int(no_shows or 0),
                }
            )
        spots, occupied = int(totals.get("spots", 0)), int(totals.get("occupied_spots", 0))
        body = {
            "lots": int(totals.get("lots", 0)),
            "spots": spots,
            "occupied_spots": occupied,
            "occupancy_percent": round(100.0 * occupied / spots, 2) if spots else 0.0,
            "revenue_today_cents": int(today_total),
            "revenue_month_cents": int(month_total),
            "currency": CURRENCY,
            "timezone": "UTC",
            "users": int(totals.get("users", 0)),
            "active_users": int(totals.get("active_users", 0)),
            "active_bookings": int(totals.get("active_bookings", 0)),
            "per_lot": per_lot,
            "per_lot_next_cursor": str(lots[-1].id) if more else None,
            "generated_at": iso(now),
        }
        return json.dumps(body).encode()

    return Response(cached("admin_stats", "", compute), mimetype="application/json")


# A holding reservation (checked in, or confirmed and not lapsed) of the spot overlapping the
# walk-in's horizon: the app's defaults, RESERVATION_GRACE_MINUTES and WALKIN_HORIZON_HOURS.
RESERVATION_GRACE = timedelta(minutes=int(os.environ.get("RESERVATION_GRACE_MINUTES", "20")))
WALKIN_HORIZON = timedelta(hours=int(os.environ.get("WALKIN_HORIZON_HOURS", "4")))
RESERVED = (
    "EXISTS (SELECT 1 FROM reservations r WHERE r.spot_id = spots.id AND (r.status = "
    "'checked_in' OR (r.status = 'confirmed' AND r.start_at > :lapse)) AND r.start_at < :end "
    "AND r.end_at > :start)"
)


@app.post("/api/v1/bookings")
def book():
    """Take the lowest free spot of a lot under a lock."""
    data = request.get_json(silent=True) or {}
    lot_id, vehicle = data.get("lot_id"), data.get("vehicle_number")
    if not isinstance(lot_id, int) or not isinstance(vehicle, str) or not vehicle.strip():
        return error(422, "validation_error")
    conn = g.conn
    conn.commit()
    options = {"immediate": True} if IS_SQLITE else {}
    lock = "" if IS_SQLITE else " FOR UPDATE"
    skip = "" if IS_SQLITE else " FOR UPDATE SKIP LOCKED"
    with conn.execution_options(**options).begin():
        conn.execute(text("SELECT id FROM users WHERE id = :uid" + lock), {"uid": g.user_id})
        lot = conn.execute(
            text("SELECT * FROM lots WHERE id = :id AND deleted_at IS NULL"), {"id": lot_id}
        ).first()
        if lot is None:
            return error(404, "lot_not_found")
        if conn.execute(
            text("SELECT id FROM bookings WHERE active_user_id = :uid"), {"uid": g.user_id}
        ).first():
            return error(409, "already_parked")
        # A walk-in's spot is one nobody reserved within the horizon: the query skips such
        # spots, and the UPDATE re-checks under the row lock (a reservation may have committed
        # since the query's snapshot).
        now = datetime.now(UTC).replace(tzinfo=None)
        window = {
            "lapse": now - RESERVATION_GRACE,
            "start": now,
            "end": now + WALKIN_HORIZON,
        }
        spot = conn.execute(
            text(
                "SELECT id, number, level FROM spots WHERE lot_id = :lot AND status = 'available' "
                "AND is_occupied = false AND NOT " + RESERVED + " ORDER BY number LIMIT 1" + skip
            ),
            {"lot": lot_id, **window},
        ).first()
        if spot is None:
            return error(409, "lot_full")
        taken = conn.execute(
            text("UPDATE spots SET is_occupied = true WHERE id = :id AND NOT " + RESERVED),
            {"id": spot.id, **window},
        )
        if taken.rowcount != 1:
            return error(409, "spot_taken")
        inserted = conn.execute(
            text(
                "INSERT INTO bookings (user_id, lot_id, spot_id, active_spot_id, active_user_id, "
                "vehicle_number, status, started_at, hourly_rate_cents, "
                "billing_increment_minutes, free_minutes, daily_max_cents, currency, created_at, "
                "updated_at) VALUES (:uid, :lot, :spot, :spot, :uid, :vehicle, 'active', :now, "
                ":rate, :inc, :free, :max, :cur, :now, :now)" + RETURNING_ID
            ),
            {
                "uid": g.user_id,
                "lot": lot_id,
                "spot": spot.id,
                "vehicle": vehicle.strip(),
                "now": now,
                "rate": lot.hourly_rate_cents,
                "inc": lot.billing_increment_minutes,
                "free": lot.free_minutes,
                "max": lot.daily_max_cents,
                "cur": CURRENCY,
            },
        )
        booking_id = new_id(inserted)
    invalidate("lots", "admin_stats")
    body = {
        "id": booking_id,
        "lot": {"id": lot.id, "name": lot.name},
        "spot": {"id": spot.id, "number": spot.number, "level": spot.level},
        "vehicle_number": vehicle.strip(),
        "status": "active",
        "started_at": iso(now),
        "ended_at": None,
        "hourly_rate_cents": lot.hourly_rate_cents,
        "cost_cents": None,
        "cost_so_far_cents": 0,
        "currency": CURRENCY,
    }
    return reply(body, 201, {"Location": f"/api/v1/bookings/{booking_id}"})


@app.post("/api/v1/bookings/<int:booking_id>/release")
def release_booking(booking_id: int):
    """End an active booking, free the spot, record the payment."""
    from app.bookings.pricing import PriceRule, compute_cost_cents

    conn = g.conn
    conn.commit()
    options = {"immediate": True} if IS_SQLITE else {}
    lock = "" if IS_SQLITE else " FOR UPDATE"
    with conn.execution_options(**options).begin():
        row = conn.execute(
            text(BOOKING_SELECT + "WHERE b.id = :id AND b.user_id = :uid" + lock),
            {"id": booking_id, "uid": g.user_id},
        ).first()
        if row is None:
            return error(404, "booking_not_found")
        if row.status != "active":
            return error(409, "invalid_transition")
        conn.execute(text("SELECT id FROM spots WHERE id = :id" + lock), {"id": row.spot_id})
        now = datetime.now(UTC).replace(tzinfo=None)
        started = row.started_at
        if isinstance(started, str):
            started = datetime.fromisoformat(started)
        seconds = max(0.0, (now - started).total_seconds())
        rule = PriceRule(
            hourly_rate_cents=row.hourly_rate_cents,
            billing_increment_minutes=row.billing_increment_minutes,
            free_minutes=row.free_minutes,
            daily_max_cents=row.daily_max_cents,
        )
        cost = compute_cost_cents(rule, seconds)
        minutes = math.ceil(seconds / 60)
        # The spot first, then the booking: the app's order (the kept counters' rows are
        # locked in the same order as by a booking, so the two never deadlock).
        conn.execute(
            text("UPDATE spots SET is_occupied = false WHERE id = :id"), {"id": row.spot_id}
        )
        conn.execute(
            text(
                "UPDATE bookings SET status = 'completed', ended_at = :now, duration_minutes = "
                ":minutes, cost_cents = :cost, active_spot_id = NULL, active_user_id = NULL, "
                "updated_at = :now WHERE id = :id"
            ),
            {"now": now, "minutes": minutes, "cost": cost, "id": booking_id},
        )
        conn.execute(
            text(
                "INSERT INTO payments (booking_id, user_id, lot_id, amount_cents, currency, "
                "status, created_at) VALUES (:id, :uid, :lot, :cost, :cur, 'pending', :now)"
            ),
            {
                "id": booking_id,
                "uid": g.user_id,
                "lot": row.lot_id,
                "cost": cost,
                "cur": row.currency,
                "now": now,
            },
        )
    invalidate("lots", "admin_stats")
    body = booking_dict(row)
    body.update(
        status="completed",
        ended_at=iso(now),
        duration_minutes=minutes,
        cost_cents=cost,
        cost_so_far_cents=None,
    )
    return reply(body)
