"""The benchmark harness end to end on a tiny SQLite database (no goals asserted)."""

# ruff: noqa: RUF001, RUF002

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import load
from bench.run import check_goals, markdown, parse_args

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
def test_harness_runs_end_to_end_on_sqlite(tmp_path):
    """Seed, serve app and baselines, measure every endpoint, write Markdown and JSON."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--db",
            "sqlite",
            "--scale",
            "0.005",
            "--no-redis",
            "--load",
            "python",
            "--duration",
            "0.4",
            "--warmup",
            "0.1",
            "--passes",
            "1",
            "--connections",
            "4",
            "--bursts",
            "1",
            "--login-duration",
            "0.5",
            "--hash-rounds",
            "1",
            "--export-sizes",
            "200,800",
            "--no-goals",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "latest.json").read_text())
    (sqlite,) = results["databases"]
    throughput = sqlite["throughput"]
    for name in ("GET /lots", "GET /bookings", "GET /admin/stats", "book-and-release cycle"):
        for label in ("app", "baseline"):
            figures = throughput[name][label]
            assert figures["requests"] > 0, (name, label)
            assert figures["errors"] == 0, (name, label, figures)
    assert sqlite["burst"]["double_bookings"] == 0
    assert sqlite["burst"]["statuses"] == {"201": 32}
    assert sqlite["exports"]["800"]["rows"] == 800
    assert sqlite["login"]["requests"] > 0
    assert "| GET /lots | app |" in (tmp_path / "latest.md").read_text()
    assert any(goal["goal"].startswith("GET /lots") for goal in results["goals"])


def measured(database: str, throughput: dict) -> dict:
    """A run's results with these throughput rows and passing login, burst and exports."""
    return {
        "databases": [
            {
                "database": database,
                "throughput": throughput,
                "login": {"cpu_ratio": 1.1, "errors": 0},
                "burst": {"double_bookings": 0, "inconsistent_checks": 0, "server_errors": 0},
                "exports": {},
            }
        ]
    }


def test_goals_fail_when_the_app_is_slower_than_its_baseline():
    """An endpoint under 0.85 × its baseline's requests/s is a failed goal, a write as much as a
    read; one whose CPU per request is over 1.2 × too."""
    row = {"rps_ratio": 0.5, "cpu_ratio": 1.0}
    write = {"rps_ratio": 0.9, "cpu_ratio": 1.3}
    results = measured("sqlite", {"GET /lots": row, "POST /parking-events": write})
    goals = {goal["goal"]: goal["ok"] for goal in check_goals(results)}
    assert goals["GET /lots: req/s ≥ 0.85 × baseline"] is False
    assert goals["GET /lots: CPU/req ≤ 1.2 × baseline"] is True
    assert goals["POST /parking-events: req/s ≥ 0.85 × baseline"] is True
    assert goals["POST /parking-events: CPU/req ≤ 1.2 × baseline"] is False
    assert goals["login CPU/req ≤ 1.25 × raw argon2id verify"] is True


def test_a_ratio_against_a_baseline_that_answered_errors_is_a_failed_goal():
    """Errors answer fast: a baseline (or app) that failed requests makes its ratio meaningless."""
    row = {
        "rps_ratio": 0.9,
        "cpu_ratio": 1.1,
        "app": {"errors": 0},
        "baseline": {"errors": 300},
    }
    clean = {**row, "baseline": {"errors": 0}}
    results = measured("mariadb", {"book-and-release cycle": row, "GET /lots": clean})
    goals = {goal["goal"]: goal for goal in check_goals(results)}
    failed = goals["book-and-release cycle: no errors (app and baseline)"]
    assert (failed["ok"], failed["value"]) == (False, 300)
    assert goals["GET /lots: no errors (app and baseline)"]["ok"] is True


def test_python_load_generator_counts_errors_and_latency():
    """The fallback generator against a throwaway bare WSGI server on loopback."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    def app(environ, start_response):
        status = "404 Not Found" if environ["PATH_INFO"] == "/missing" else "200 OK"
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", "2")])
        return [b"{}"]

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        scenario = load.Scenario(
            "mixed", [load.Req("GET", "/ok"), load.Req("GET", "/missing")], connections=1
        )
        result = load.run_python(server.server_port, scenario, seconds=0.3, max_requests=40)
    finally:
        server.shutdown()
    assert 0 < result.requests <= 40
    assert result.errors == result.requests // 2
    assert result.p99_ms >= result.p50_ms > 0
    assert markdown  # imported for the module's own smoke
    assert parse_args(["--quick"]).scale <= 0.1


@pytest.mark.parametrize("dialect_name", ["sqlite", "mysql", "postgresql"])
def test_the_seeders_time_values_are_what_sqlalchemy_would_send(dialect_name):
    """The seeder converts a time column's values in one call; SQLAlchemy's two layers (the
    UTCDateTime decorator, then the dialect's DATETIME) must give the same value."""
    from datetime import UTC, datetime, timedelta, timezone

    from sqlalchemy.dialects import mysql, postgresql, sqlite

    from app.platform.models import UTCDateTime
    from bench.seed import _bind_processor

    dialect = {"sqlite": sqlite, "mysql": mysql, "postgresql": postgresql}[dialect_name].dialect()
    column_type = UTCDateTime()
    impl = column_type.dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)
    fast = _bind_processor(column_type, dialect)
    for value in (
        datetime(2026, 1, 2, 3, 4, 5),
        datetime(2026, 1, 2, 3, 4, 5, 123),
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    ):
        assert fast(value) == impl(column_type.process_bind_param(value, dialect)), value


def test_the_seeders_mariadb_literals_store_what_pymysql_parameters_store():
    """The seeder writes MariaDB's VALUES itself; each value must land as the driver's own
    parameter would have stored it."""
    from datetime import datetime

    import sqlalchemy as sa

    from bench.seed import _mysql_literal
    from tests.conftest import create_database

    url, drop = create_database("mariadb", "parkmind_seed_literals")
    engine = sa.create_engine(url)
    awkward = 'O\'Brien \\ back\nslash "quoted" ünïcode'
    values = [
        (1, "plain", datetime(2026, 1, 2, 3, 4, 5), 12.97, True, None),
        (2, awkward, datetime(2026, 1, 2, 3, 4, 5, 6), -0.1, False, '{"a": [1]}'),
        (3, "", datetime(1999, 12, 31, 23, 59, 59, 999999), 1e-7, True, "null"),
        (-(2**40), "%s %(x)s", datetime(2026, 6, 1), 77.5912345678, False, None),
    ]
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE TABLE t (k INT, n BIGINT, s VARCHAR(200), d DATETIME(6), f DOUBLE, "
                "b BOOLEAN, j TEXT)"
            )
            driver = conn.connection.dbapi_connection
            cursor = driver.cursor()
            for row in values:
                literals = ",".join(_mysql_literal(value, driver.escape) for value in row)
                cursor.execute(f"INSERT INTO t VALUES (1, {literals})")
                cursor.execute("INSERT INTO t VALUES (2, %s, %s, %s, %s, %s, %s)", row)
            cursor.close()
            mine = conn.exec_driver_sql("SELECT n, s, d, f, b, j FROM t WHERE k = 1").all()
            theirs = conn.exec_driver_sql("SELECT n, s, d, f, b, j FROM t WHERE k = 2").all()
        assert mine == theirs
        assert [tuple(row) for row in mine] == [
            (n, s, d, f, int(b), j) for n, s, d, f, b, j in values
        ]
    finally:
        engine.dispose()
        drop()
