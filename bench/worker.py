"""In-app steps of the benchmark, each run in its own process with the app's configuration.

    python -m bench.worker seed --scale S --export-rows N
    python -m bench.worker tokens --users 1,2,3
    python -m bench.worker hashcost --rounds 5
    python -m bench.worker export --rows N
    python -m bench.worker explain --user ID --depth 500

Every command prints one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import threading
import time
import uuid


def _app():
    from app import create_app

    return create_app()


def cmd_seed(args) -> dict:
    """Migrate and seed the empty database."""
    from dataclasses import asdict

    from bench.seed import seed

    return asdict(
        seed(
            _app(), args.scale, clients=args.clients, export_rows=args.export_rows, heavy=args.heavy
        )
    )


def cmd_tokens(args) -> dict:
    """Open a login session per user and return an access token for each (user id → token)."""
    from flask_jwt_extended import create_access_token

    from app.accounts.models import AuthSession, User
    from app.platform.extensions import db
    from app.platform.models import utcnow

    app = _app()
    tokens = {}
    with app.app_context():
        now = utcnow()
        for user_id in (int(x) for x in args.users.split(",") if x):
            user = db.session.get(User, user_id)
            session = AuthSession(
                id=str(uuid.uuid4()),
                user_id=user.id,
                refresh_jti=str(uuid.uuid4()),
                created_at=now,
                last_used_at=now,
                expires_at=now + app.config["JWT_REFRESH_TOKEN_EXPIRES"],
            )
            db.session.add(session)
            tokens[str(user_id)] = create_access_token(
                identity=str(user.id), additional_claims={"sid": session.id, "role": user.role}
            )
        db.session.commit()
    return {"tokens": tokens}


def cmd_hashcost(args) -> dict:
    """CPU seconds of one argon2id verification with the app's parameters, in this process."""
    from app.accounts.passwords import hash_password, verify_password

    app = _app()
    with app.app_context():
        stored = hash_password("bench-password-1")
        verify_password(stored, "bench-password-1")  # warm
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(args.rounds):
            assert verify_password(stored, "bench-password-1")
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        params = {
            name: app.config[name]
            for name in (
                "PASSWORD_HASH_TIME_COST",
                "PASSWORD_HASH_MEMORY_COST",
                "PASSWORD_HASH_PARALLELISM",
            )
        }
    return {
        "cpu_s_per_verify": cpu / args.rounds,
        "wall_s_per_verify": wall / args.rounds,
        "rounds": args.rounds,
        "params": params,
    }


def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def cmd_export(args) -> dict:
    """Run the export task's own function for the export user's latest ``rows`` bookings.

    Measures time to the first data row written, rows/s over the whole task (query, CSV,
    storage) and peak RSS growth of this process (VmHWM reset through /proc/self/clear_refs
    just before the export, after a small warm-up export).
    """
    from sqlalchemy import select

    from app.accounts.models import User
    from app.bookings.models import Booking
    from app.exports import service as exports
    from app.exports.models import Export
    from app.platform.extensions import db
    from app.platform.models import utcnow

    app = _app()
    marks: dict[str, float] = {}
    original = exports.write_csv

    def timed_write_csv(handle, rows, **options):
        def watch(rows):
            for index, row in enumerate(rows):
                if index == 1 and "first" not in marks:
                    marks["first"] = time.perf_counter()
                yield row

        return original(handle, watch(rows), **options)

    exports.write_csv = timed_write_csv

    def run_one(user_id: int, date_from) -> tuple[int, float]:
        export = Export(
            user_id=user_id,
            kind="bookings",
            status="running",
            date_from=date_from,
            date_to=utcnow(),
            started_at=utcnow(),
            heartbeat_at=utcnow(),
            attempts=1,
        )
        db.session.add(export)
        db.session.commit()
        began = time.perf_counter()
        count = exports.produce_export(export.id, 1)
        db.session.commit()
        return count, began

    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == "exporter"))
        date_from = db.session.scalar(
            select(Booking.started_at)
            .where(Booking.user_id == user_id)
            .order_by(Booking.started_at.desc())
            .limit(1)
            .offset(args.rows - 1)
        )
        warm_from = db.session.scalar(
            select(Booking.started_at)
            .where(Booking.user_id == user_id)
            .order_by(Booking.started_at.desc())
            .limit(1)
            .offset(min(args.rows, 500) - 1)
        )
        run_one(user_id, warm_from)  # imports, code paths, pools: not counted
        marks.clear()
        rss_before = _rss_kb("VmRSS")
        reset = True
        try:
            with open("/proc/self/clear_refs", "w") as handle:
                handle.write("5")
        except OSError:
            reset = False
        peak = [rss_before]
        done = threading.Event()

        def sample() -> None:  # a fallback when the peak cannot be reset
            while not done.wait(0.005):
                peak[0] = max(peak[0], _rss_kb("VmRSS"))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        count, began = run_one(user_id, date_from)
        ended = time.perf_counter()
        done.set()
        sampler.join()
        hwm = _rss_kb("VmHWM") if reset else 0
        peak_kb = max(peak[0], hwm)
    seconds = ended - began
    return {
        "rows": count,
        "seconds": round(seconds, 3),
        "rows_per_s": round(count / seconds, 1) if seconds else 0.0,
        "first_row_s": round(marks.get("first", ended) - began, 4),
        "rss_before_mb": round(rss_before / 1024, 1),
        "peak_growth_mb": round((peak_kb - rss_before) / 1024, 2),
        "peak_method": "VmHWM after clear_refs" if reset else "sampled VmRSS",
        "maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _explain_prefix(dialect: str) -> str:
    return "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "


def _plan_lines(dialect: str, result) -> list[str]:
    """The plan's rows as text: SQLite's tree, MariaDB's table, PostgreSQL's lines."""
    rows = result.all()
    if dialect == "sqlite":
        depth = {0: 0}
        lines = []
        for node, parent, _, detail in rows:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * (depth[node] - 1) + detail)
        return lines
    if dialect == "postgresql":
        return [row[0] for row in rows]
    columns = list(result.keys())
    return [" | ".join(columns)] + [
        " | ".join("" if v is None else str(v) for v in row) for row in rows
    ]


def cmd_explain(args) -> dict:
    """The SQL the growth requests' service functions run, and the database's plan of each.

    Each service function runs twice under an app context (no cache without Redis); the
    statements of the second run are captured with a ``before_cursor_execute`` listener, timed,
    and then EXPLAINed with the same parameters on the same database.
    """
    from sqlalchemy import event

    from app.admin import dashboard
    from app.bookings import service as bookings
    from app.lots import service as lots
    from app.platform.extensions import db

    app = _app()
    captured: list[dict] = []
    capturing = [False]

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        # Only the queries: BEGIN (SQLite's explicit transactions) has no plan.
        if capturing[0] and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            elapsed = (time.perf_counter() - conn.info.pop("bench_started", 0)) * 1000
            captured.append({"sql": statement, "params": parameters, "sql_ms": round(elapsed, 3)})

    def statements_of(call) -> list[dict]:
        call()
        db.session.rollback()
        captured.clear()
        capturing[0] = True
        try:
            call()
        finally:
            capturing[0] = False
            db.session.rollback()
        return list(captured)

    with app.app_context():
        engine = db.engine
        dialect = engine.dialect.name
        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        cursor = None
        for _ in range(args.depth - 1):  # page 1 to page depth - 1, as a client following cursors
            cursor = bookings.list_bookings(
                user_id=args.user, page=1, per_page=20, cursor=cursor and _decoded(cursor)
            )["next_cursor"]
            db.session.rollback()
        calls = {
            "GET /bookings page 1": lambda: bookings.list_bookings(
                user_id=args.user, page=1, per_page=20
            ),
            "GET /bookings ?page=500": lambda: bookings.list_bookings(
                user_id=args.user, page=args.depth, per_page=20
            ),
            "GET /bookings cursor at page 500": lambda: bookings.list_bookings(
                user_id=args.user, page=1, per_page=20, cursor=_decoded(cursor)
            ),
            "GET /lots": lambda: lots.list_lots(page=1, per_page=20).value(),
            "GET /admin/stats": lambda: dashboard.stats().value(),
        }
        found = {name: statements_of(call) for name, call in calls.items()}
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        prefix = _explain_prefix(dialect)
        with engine.connect() as conn:
            for statements in found.values():
                for item in statements:
                    result = conn.exec_driver_sql(prefix + item["sql"], item["params"])
                    item["plan"] = _plan_lines(dialect, result)
                    item["params"] = (
                        [str(p) for p in item["params"]]
                        if isinstance(item["params"], (list, tuple))
                        else {k: str(v) for k, v in dict(item["params"]).items()}
                    )
            conn.rollback()
    return {"dialect": dialect, "requests": found}


def _decoded(cursor: str):
    from app.platform.cursors import decode_cursor

    return decode_cursor(cursor)


def main() -> None:
    parser = argparse.ArgumentParser(description="benchmark steps inside the app")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("seed")
    p.add_argument("--scale", type=float, required=True)
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--export-rows", type=int, default=0)
    p.add_argument("--heavy", action="store_true")
    p = sub.add_parser("tokens")
    p.add_argument("--users", required=True)
    p = sub.add_parser("hashcost")
    p.add_argument("--rounds", type=int, default=5)
    p = sub.add_parser("export")
    p.add_argument("--rows", type=int, required=True)
    p = sub.add_parser("explain")
    p.add_argument("--user", type=int, required=True)
    p.add_argument("--depth", type=int, default=500)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    commands = {
        "seed": cmd_seed,
        "tokens": cmd_tokens,
        "hashcost": cmd_hashcost,
        "explain": cmd_explain,
    }
    result = commands.get(args.command, cmd_export)(args)
    print(json.dumps(result, default=str), flush=True)
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown (pools, threads): the answer is printed


if __name__ == "__main__":
    main()
