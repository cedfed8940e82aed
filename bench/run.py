"""``python -m bench``: seed, serve the app and its baselines side by side, measure, check goals.

For each database (SQLite, MariaDB, PostgreSQL): a fresh database seeded at ``--scale``; the app
and three baselines (bare WSGI, minimal Flask, the same-work Flask app) under gunicorn with the
SAME settings; per endpoint, a discarded warm-up and ``--passes`` interleaved passes (app and its
baseline alternate which goes first); medians. Server CPU per request counts the gunicorn master
and workers plus the database server (mariadbd or postgres) and redis-server (utime+stime from
/proc). Then login at low concurrency against the raw argon2id cost, a booking burst, and CSV
exports of 50,000 and 200,000 rows. Results go to bench/results/ (Markdown and JSON); a failed
goal exits with 1.
"""

# ruff: noqa: E501, S603, RUF001

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import load
from bench.load import Req, Scenario

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PYTHON = sys.executable
CONF = ROOT / "gunicorn.conf.py"
# The deployment's gunicorn.conf.py (JSON access log, timeouts) when present; the flags below win
# over it and are the same for every server. Worker recycling is off so /proc sees every worker.
WORKERS, THREADS = 2, 4
GUNICORN = [
    PYTHON, "-m", "gunicorn", *(["-c", str(CONF)] if CONF.exists() else []),
    "-k", "gthread", "-w", str(WORKERS), "--threads", str(THREADS), "--max-requests", "0",
]  # fmt: skip


def worker_connections(connections: int) -> int:
    """The per-worker connection cap of every server: 3/4 of the load's connections.

    wrk's keep-alive connections stay with the worker that accepted them, and gunicorn's accept
    race sometimes hands one worker all of them: the other worker idles, half the machine with
    it, and req/s halves for that run alone (seen here with 16 connections). With
    the cap, each worker holds at least a quarter of the connections, enough to keep its threads
    busy, and a run measures the server rather than the race.
    """
    return max(THREADS + 1, -(-3 * connections // 4))


MARIADB_SERVER = os.environ.get("BENCH_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306")
MARIADB_DB = "parkmind_bench"
POSTGRES_SERVER = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432"
)
POSTGRES_DB = "parkmind_bench"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
CLK_TCK = os.sysconf("SC_CLK_TCK")
READ_ENDPOINTS = ("GET /lots", "GET /lots/{id}", "GET /bookings", "GET /parking-events/latest-active", "GET /admin/stats")  # fmt: skip
EXPORT_SIZES = (50_000, 200_000)


def log(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# --- processes and CPU ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, IndexError, ValueError):
        return 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.append(int(entry))
    return found


def _by_name(*names: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as handle:
                    if handle.read().strip() in names:
                        found.append(int(entry))
            except OSError:
                continue
    return found


# The server processes whose CPU a database's requests cost (shared with anything else on them).
DATABASE_SERVERS = {
    "mariadb": lambda: _by_name("mariadbd", "mysqld"),
    "postgres": lambda: _by_name("postgres"),
}


class Server:
    """One gunicorn with the common settings, serving ``target`` on a free port."""

    # Set by main() from --connections; the same for every server of the run.
    connection_cap = worker_connections(16)

    def __init__(
        self, name: str, target: str, env: dict, log_path: Path | None = None, capped: bool = True
    ):
        self.name, self.port = name, free_port()
        self.log_path = log_path
        out = open(log_path, "w") if log_path else subprocess.DEVNULL  # noqa: SIM115
        # The throughput servers share the cap; the burst's 32 simultaneous connections do not.
        cap = ["--worker-connections", str(Server.connection_cap)] if capped else []
        self.proc = subprocess.Popen(
            [*GUNICORN, *cap, "--bind", f"127.0.0.1:{self.port}", target],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited at start (see {log_path})")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"{name} did not start")
        time.sleep(0.5)

    def ticks(self) -> int:
        return sum(_ticks(pid) for pid in [self.proc.pid, *_children(self.proc.pid)])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class CpuMeter:
    """Server-side CPU of a measurement: gunicorn (master + workers), database, Redis."""

    def __init__(self, server: Server, database: str):
        self.server = server
        self.shared = _by_name("redis-server") + DATABASE_SERVERS.get(database, lambda: [])()

    def snapshot(self) -> tuple[int, int]:
        return self.server.ticks(), sum(_ticks(pid) for pid in self.shared)


def measure(server: Server, meter: CpuMeter, scenario: Scenario, seconds: float, wrk) -> dict:
    """One measured run: load figures plus server CPU per request (ms)."""
    app0, shared0 = meter.snapshot()
    result = load.run(server.port, scenario, seconds, wrk)
    app1, shared1 = meter.snapshot()
    data = result.as_dict()
    requests = max(1, result.requests)
    data["cpu_app_ms"] = round((app1 - app0) / CLK_TCK * 1000 / requests, 4)
    data["cpu_total_ms"] = round((app1 - app0 + shared1 - shared0) / CLK_TCK * 1000 / requests, 4)
    return data


def median_of(runs: list[dict]) -> dict:
    keys = ("rps", "p50_ms", "p90_ms", "p99_ms", "cpu_app_ms", "cpu_total_ms")
    out = {key: round(statistics.median(run[key] for run in runs), 4) for key in keys}
    out["errors"] = sum(run["errors"] for run in runs)
    out["requests"] = sum(run["requests"] for run in runs)
    out["generator"] = runs[0]["generator"]
    return out


# --- helpers ---------------------------------------------------------------------------------------


def worker(env: dict, *args: str, timeout: int = 1200) -> dict:
    proc = subprocess.run(
        [PYTHON, "-m", "bench.worker", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"bench.worker {args[0]} failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def sql_engine(url: str):
    from sqlalchemy import create_engine

    return create_engine(url, isolation_level="AUTOCOMMIT")


def release_all(engine, user_ids: list[int], settle: float = 0.2, limit: float = 5.0) -> None:
    """End any active booking of the load's users (left by a run stopped mid-cycle).

    A booking request the load generator sent just before it stopped may still commit after a
    first clean-up, leaving a user who can only get 409 for the whole next run: clean up until
    nothing new has appeared for ``settle`` seconds.
    """
    deadline = time.monotonic() + limit
    _release_active(engine, user_ids)
    while time.monotonic() < deadline:
        time.sleep(settle)
        if not _release_active(engine, user_ids):
            return


def _release_active(engine, user_ids: list[int]) -> int:
    """Cancel the users' active bookings and free their spots; how many there were. Requests
    still in flight may hold the same rows: the bookings are locked first (a release's order:
    booking, then spot), and a deadlock all the same is retried."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    ids = ",".join(str(i) for i in user_ids)
    active = f"status = 'active' AND user_id IN ({ids})"
    lock = "" if engine.dialect.name == "sqlite" else " FOR UPDATE"
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                spots = conn.execute(text(f"SELECT spot_id FROM bookings WHERE {active}{lock}"))
                spot_ids = [row[0] for row in spots]
                if not spot_ids:
                    return 0
                listed = ",".join(str(i) for i in spot_ids)
                conn.execute(text(f"UPDATE spots SET is_occupied = false WHERE id IN ({listed})"))
                return conn.execute(
                    text(
                        "UPDATE bookings SET status = 'cancelled', active_spot_id = NULL, "
                        f"active_user_id = NULL WHERE {active}"
                    )
                ).rowcount
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.2)
    return 0


def http_json(port: int, method: str, path: str, token: str | None = None, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    started = time.perf_counter()
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    elapsed = time.perf_counter() - started
    conn.close()
    return response.status, payload, elapsed


# --- the measurements ------------------------------------------------------------------------------


def read_scenarios(seeded: dict, tokens: dict, connections: int) -> list[Scenario]:
    clients = [tokens[str(i)] for i in seeded["client_ids"]]
    admin = tokens[str(seeded["admin_id"])]

    def auth(token: str) -> dict:
        return {"Authorization": f"Bearer {token}"}

    lots = seeded["lot_ids_sample"]
    body = json.dumps(
        {
            "latitude": 12.97,
            "longitude": 77.59,
            "accuracy_m": 6.5,
            "location_type": "indoor",
            "level": "B2",
            "spot_label": "C14",
            "notes": "Left of the lift",
        }
    )
    post_headers = {"Content-Type": "application/json"}
    return [
        Scenario("GET /lots", [Req("GET", "/api/v1/lots", auth(t)) for t in clients], connections=connections),
        Scenario(
            "GET /lots/{id}",
            [Req("GET", f"/api/v1/lots/{lots[i % len(lots)]}", auth(t)) for i, t in enumerate(clients)],
            connections=connections,
        ),
        Scenario("GET /bookings", [Req("GET", "/api/v1/bookings", auth(t)) for t in clients], connections=connections),
        Scenario(
            "GET /parking-events/latest-active",
            [Req("GET", "/api/v1/parking-events/latest-active", auth(t)) for t in clients],
            connections=connections,
        ),
        Scenario("GET /admin/stats", [Req("GET", "/api/v1/admin/stats", auth(admin))], connections=connections),
        Scenario(
            "POST /parking-events",
            [Req("POST", "/api/v1/parking-events", {**auth(t), **post_headers}, body) for t in clients],
            connections=connections,
        ),
    ]  # fmt: skip


def run_throughput(ctx: dict, servers: dict, database: str, scenarios, cycle: Scenario) -> dict:
    """Endpoints against their same-work baseline; bare WSGI and minimal Flask for context."""
    opts, wrk, engine = ctx["opts"], ctx["wrk"], ctx["engine"]
    app, base = servers["app"], servers["same_work"]
    meters = {name: CpuMeter(server, database) for name, server in servers.items()}
    runs: dict[str, dict[str, list]] = {}
    hello = Scenario("hello", [Req("GET", "/api/v1/health")], connections=opts.connections)
    for number in range(opts.passes):
        log(f"{database}: pass {number + 1}/{opts.passes}")
        for scenario in [*scenarios, cycle]:
            order = [("app", app), ("baseline", base)]
            if number % 2:
                order.reverse()
            for label, server in order:
                if scenario.is_cycle:
                    release_all(engine, ctx["cycle_users"])
                load.run(server.port, scenario, opts.warmup, wrk)  # warm-up, discarded
                if scenario.is_cycle:
                    release_all(engine, ctx["cycle_users"])
                data = measure(
                    server,
                    meters["app" if label == "app" else "same_work"],
                    scenario,
                    opts.duration,
                    wrk,
                )
                runs.setdefault(scenario.name, {}).setdefault(label, []).append(data)
        for name in ("bare", "flask_min", "app"):
            server = servers[name]
            load.run(server.port, hello, opts.warmup, wrk)
            data = measure(server, meters[name], hello, opts.duration, wrk)
            runs.setdefault("GET /health (floor)", {}).setdefault(name, []).append(data)
    release_all(engine, ctx["cycle_users"])
    table = {}
    for name, by_label in runs.items():
        table[name] = {label: median_of(values) for label, values in by_label.items()}
        table[name]["passes"] = by_label
        if "app" in by_label and "baseline" in by_label:
            app_m, base_m = table[name]["app"], table[name]["baseline"]
            table[name]["rps_ratio"] = (
                round(app_m["rps"] / base_m["rps"], 3) if base_m["rps"] else None
            )
            table[name]["cpu_ratio"] = (
                round(app_m["cpu_total_ms"] / base_m["cpu_total_ms"], 3) if base_m["cpu_total_ms"] else None
            )  # fmt: skip
    return table


def cycle_connections(opts) -> int:
    return 4 if opts.connections >= 4 else opts.connections


def run_login(ctx: dict, env: dict, database: str, seeded: dict, tmp: Path) -> dict:
    """Logins at low concurrency (rate limiting on, in Redis) against the raw argon2id verify."""
    opts, wrk = ctx["opts"], ctx["wrk"]
    raw = worker(env, "hashcost", "--rounds", str(opts.hash_rounds))
    login_env = {**env, "RATELIMIT_ENABLED": "true", "BENCH_LOGIN_RATE_LIMIT": "100000 per minute"}
    server = Server("app-login", "bench.wsgi:app", login_env, tmp / f"login-{database}.log")
    try:
        users = [f"client{i:04d}" for i in range(len(seeded["client_ids"]))]
        scenario = Scenario(
            "POST /auth/login",
            [
                Req(
                    "POST",
                    "/api/v1/auth/login",
                    {"Content-Type": "application/json"},
                    json.dumps({"login": user, "password": seeded["password"]}),
                )
                for user in users
            ],
            connections=2,
        )
        meter = CpuMeter(server, database)
        load.run(server.port, scenario, opts.warmup, wrk)
        runs = [
            measure(server, meter, scenario, opts.login_duration, wrk) for _ in range(opts.passes)
        ]
    finally:
        server.stop()
    result = median_of(runs)
    result["passes"] = runs
    result["raw_hash_cpu_ms"] = round(raw["cpu_s_per_verify"] * 1000, 2)
    result["hash_params"] = raw["params"]
    result["cpu_ratio"] = round(result["cpu_total_ms"] / result["raw_hash_cpu_ms"], 3)
    return result


def run_burst(ctx: dict, env: dict, database: str, seeded: dict, tokens: dict, tmp: Path) -> dict:
    """32 simultaneous bookings into a 50-spot lot, ``--bursts`` times; double bookings by SQL."""
    from sqlalchemy import text

    opts, engine = ctx["opts"], ctx["engine"]
    lot_id = seeded["burst_lot_id"]
    user_ids = seeded["burst_user_ids"]
    burst_env = {**env, "LOG_LEVEL": "INFO"}
    log_path = tmp / f"burst-{database}.log"
    server = Server("app-burst", "bench.wsgi:app", burst_env, log_path, capped=False)
    latencies, statuses, doubles, over = [], {}, 0, 0
    try:
        for _ in range(opts.bursts):
            release_all(engine, user_ids)
            barrier = threading.Barrier(len(user_ids))
            results: list[tuple[int, float]] = []
            lock = threading.Lock()

            def book(user_id: int, barrier=barrier, results=results, lock=lock) -> None:
                token = tokens[str(user_id)]
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
                conn.connect()
                body = json.dumps({"lot_id": lot_id, "vehicle_number": f"KA{user_id:06d}"})
                headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                barrier.wait()
                started = time.perf_counter()
                try:
                    conn.request("POST", "/api/v1/bookings", body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                except OSError:
                    status = 599
                with lock:
                    results.append((status, time.perf_counter() - started))
                conn.close()

            threads = [threading.Thread(target=book, args=(u,)) for u in user_ids]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
            for status, elapsed in results:
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                latencies.append(elapsed)
            with engine.connect() as conn:
                doubles += conn.execute(
                    text(
                        "SELECT COUNT(*) FROM (SELECT spot_id FROM bookings WHERE status = 'active' "
                        "AND lot_id = :lot GROUP BY spot_id HAVING COUNT(*) > 1) d"
                    ),
                    {"lot": lot_id},
                ).scalar()
                active = conn.execute(
                    text("SELECT COUNT(*) FROM bookings WHERE status = 'active' AND lot_id = :lot"),
                    {"lot": lot_id},
                ).scalar()
                occupied = conn.execute(
                    text("SELECT COUNT(*) FROM spots WHERE is_occupied = true AND lot_id = :lot"),
                    {"lot": lot_id},
                ).scalar()
                over += int(active > 50) + int(occupied != active)
        release_all(engine, user_ids)
    finally:
        server.stop()
    retries = log_path.read_text(errors="replace").count("transaction retry")
    latencies.sort()
    return {
        "bursts": opts.bursts,
        "requests": len(latencies),
        "statuses": statuses,
        "p50_ms": round(load._percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(load._percentile(latencies, 99) * 1000, 1),
        "server_retries": retries,
        "double_bookings": doubles,
        "inconsistent_checks": over,
        "server_errors": sum(n for s, n in statuses.items() if int(s) >= 500),
    }


def run_exports(env: dict, sizes) -> dict:
    """The export task's function on 50,000 and 200,000 rows, each in a fresh process."""
    return {str(rows): worker(env, "export", "--rows", str(rows)) for rows in sizes}


# --- one database ----------------------------------------------------------------------------------


def database_env(database: str, tmp: Path, opts) -> tuple[dict, str]:
    """The app's environment (production settings on MariaDB) and the SQL URL for checks."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "REDIS_URL", "CELERY_", "APP_ENV", "RATELIMIT"))
    }
    env.update(
        SECRET_KEY=secrets.token_urlsafe(48),
        JWT_SECRET_KEY=secrets.token_urlsafe(48),
        RATELIMIT_ENABLED="false",
        LOG_LEVEL="WARNING",
        PARKMIND_INSTANCE_PATH=str(tmp / "instance"),
        PARKMIND_GUNICORN_LOG_LEVEL="warning",
        LOCAL_STORAGE_PATH=str(tmp / "files"),
        PYTHONPATH=str(ROOT),
        CACHE_KEY_PREFIX=f"parkmind-bench-{database}:",
    )
    if opts.redis:
        env["REDIS_URL"] = REDIS_URL
    if database == "mariadb":
        url = f"{MARIADB_SERVER}/{MARIADB_DB}?charset=utf8mb4"
        env.update(APP_ENV="production", DATABASE_URL=url)
    elif database == "postgres":
        url = f"{POSTGRES_SERVER}/{POSTGRES_DB}"
        env.update(APP_ENV="production", DATABASE_URL=url)
    else:
        url = f"sqlite:///{tmp / 'bench.db'}"
        # Production refuses SQLite; development has production's hash cost and no debug.
        env.update(APP_ENV="development", DATABASE_URL=url)
    return env, url


def create_database(database: str, name: str = MARIADB_DB) -> None:
    """An empty database ``name`` on the MariaDB or PostgreSQL server (SQLite: nothing to do)."""
    if database == "mariadb":
        engine = sql_engine(MARIADB_SERVER)
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
            conn.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
        engine.dispose()
    elif database == "postgres":
        engine = sql_engine(f"{POSTGRES_SERVER}/postgres")
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.exec_driver_sql(f"CREATE DATABASE {name} ENCODING 'UTF8'")
        engine.dispose()


def drop_database(database: str, name: str = MARIADB_DB) -> None:
    if database == "mariadb":
        engine = sql_engine(MARIADB_SERVER)
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        engine.dispose()
    elif database == "postgres":
        engine = sql_engine(f"{POSTGRES_SERVER}/postgres")
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        engine.dispose()


def flush_redis_prefix(prefix: str) -> None:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for pattern in (f"{prefix}*", "bench_baseline:*", "LIMITS:*"):
            keys = list(client.scan_iter(pattern, count=1000))
            if keys:
                client.delete(*keys)
    except Exception as exc:  # noqa: BLE001 - Redis is optional for the smoke run
        log(f"redis clean-up skipped: {exc}")


def size_in_bytes(size: str) -> int:
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    size = size.strip().upper()
    return int(float(size[:-1]) * units[size[-1]]) if size[-1] in units else int(size)


def buffer_pool(size: int | None) -> int:
    """Set MariaDB's ``innodb_buffer_pool_size`` (a global, resized online) when ``size`` is given;
    the size it had."""
    engine = sql_engine(MARIADB_SERVER)
    with engine.connect() as conn:
        before = conn.exec_driver_sql("SELECT @@innodb_buffer_pool_size").scalar()
        if size is not None and size != before:
            conn.exec_driver_sql(f"SET GLOBAL innodb_buffer_pool_size = {int(size)}")
    engine.dispose()
    return int(before)


def run_database(database: str, opts, wrk) -> dict:
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f"parkmind-bench-{database}-"))
    env, url = database_env(database, tmp, opts)
    create_database(database)
    servers: dict = {}
    engine = None
    pool_before = pool_size = None
    if database == "mariadb" and opts.mariadb_buffer_pool:
        # Scale 10's booking indexes do not fit the default 128 MB: the seed would take an hour.
        pool_before = buffer_pool(size_in_bytes(opts.mariadb_buffer_pool))
        pool_size = buffer_pool(None)
        log(f"{database}: innodb_buffer_pool_size {pool_size:,} (was {pool_before:,})")
    try:
        log(f"{database}: seeding at scale {opts.scale}")
        seeded = worker(
            env, "seed", "--scale", str(opts.scale), "--export-rows", str(max(opts.export_sizes))
        )
        log(f"{database}: {seeded['rows']} rows in {seeded['seconds']} s")
        users = seeded["client_ids"] + seeded["burst_user_ids"] + [seeded["admin_id"]]
        tokens = worker(env, "tokens", "--users", ",".join(map(str, users)))["tokens"]
        engine = sql_engine(url)
        ctx = {"opts": opts, "wrk": wrk, "engine": engine}
        cycle_users = seeded["client_ids"][: cycle_connections(opts)]
        ctx["cycle_users"] = cycle_users
        scenarios = read_scenarios(seeded, tokens, opts.connections)
        free_lots = seeded["lot_ids_sample"][: len(cycle_users)]
        cycle = Scenario(
            "book-and-release cycle",
            cycle_tokens=[tokens[str(u)] for u in cycle_users],
            cycle_lots=free_lots,
            connections=len(cycle_users),
        )
        logs = tmp / "logs"
        logs.mkdir()
        servers["app"] = Server("app", "bench.wsgi:app", env, logs / "app.log")
        servers["same_work"] = Server("same_work", "bench.baselines.same_work:app", env, logs / "same_work.log")  # fmt: skip
        servers["flask_min"] = Server("flask_min", "bench.baselines.flask_min:app", env)
        servers["bare"] = Server("bare", "bench.baselines.bare:app", env)
        throughput = run_throughput(ctx, servers, database, scenarios, cycle)
        for server in servers.values():
            server.stop()
        servers = {}
        log(f"{database}: login")
        login = run_login(ctx, env, database, seeded, logs)
        log(f"{database}: booking burst")
        burst = run_burst(ctx, env, database, seeded, tokens, logs)
        log(f"{database}: exports")
        exports = run_exports(env, opts.export_sizes)
    finally:
        for server in servers.values():
            server.stop()
        if engine is not None:
            engine.dispose()
        if opts.redis:
            flush_redis_prefix(env["CACHE_KEY_PREFIX"])
        drop_database(database)
        if pool_before is not None:
            buffer_pool(pool_before)
        if opts.keep:
            log(f"{database}: database file, logs and uploads kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return {
        "database": database,
        "app_env": env["APP_ENV"],
        "seed": {"rows": seeded["rows"], "seconds": seeded["seconds"], "plan": seeded["plan"]},
        "buffer_pool": pool_size,
        "throughput": throughput,
        "login": login,
        "burst": burst,
        "exports": exports,
        "seconds": round(time.perf_counter() - started, 1),
    }


# --- goals and output ------------------------------------------------------------------------------


# Goals of every endpoint against the same work written plainly: req/s at least RPS_GOAL times
# the baseline's, CPU per request at most CPU_GOAL times.
RPS_GOAL = 0.85
CPU_GOAL = 1.2


def check_goals(results: dict) -> list[dict]:
    """Every goal of the benchmark, measured in this run: ``{database, goal, value, ok}``."""
    goals = []

    def add(database: str, goal: str, value, ok: bool) -> None:
        goals.append({"database": database, "goal": goal, "value": value, "ok": bool(ok)})

    for db_result in results["databases"]:
        database = db_result["database"]
        # Every endpoint measured against its same-work baseline, reads and writes alike.
        for name, row in db_result["throughput"].items():
            if not row or row.get("rps_ratio") is None:
                continue
            add(
                database,
                f"{name}: req/s ≥ {RPS_GOAL} × baseline",
                row["rps_ratio"],
                row["rps_ratio"] >= RPS_GOAL,
            )
            add(database, f"{name}: CPU/req ≤ {CPU_GOAL} × baseline", row["cpu_ratio"], (row["cpu_ratio"] or 99) <= CPU_GOAL)  # fmt: skip
            # A ratio compares like with like only when both servers answered every request.
            errors = sum(row.get(label, {}).get("errors", 0) for label in ("app", "baseline"))
            add(database, f"{name}: no errors (app and baseline)", errors, errors == 0)
        login = db_result["login"]
        add(database, "login CPU/req ≤ 1.25 × raw argon2id verify", login["cpu_ratio"], login["cpu_ratio"] <= 1.25)  # fmt: skip
        add(database, "login: no errors", login["errors"], login["errors"] == 0)
        burst = db_result["burst"]
        add(database, "burst: zero double bookings", burst["double_bookings"] + burst["inconsistent_checks"], burst["double_bookings"] == 0 and burst["inconsistent_checks"] == 0)  # fmt: skip
        add(database, "burst: zero 5xx", burst["server_errors"], burst["server_errors"] == 0)
        exports = db_result["exports"]
        big, small = exports.get(str(max(EXPORT_SIZES))), exports.get(str(min(EXPORT_SIZES)))
        if big and small:
            add(database, "export 200k: memory growth ≤ 32 MB", big["peak_growth_mb"], big["peak_growth_mb"] <= 32)  # fmt: skip
            delta = round(big["peak_growth_mb"] - small["peak_growth_mb"], 2)
            add(database, "export: 200k growth ≤ 50k growth + 10 MB", delta, delta <= 10)
        for size, figures in exports.items():
            add(database, f"export {size}: first row within 1 s", figures["first_row_s"], figures["first_row_s"] <= 1.0)  # fmt: skip
            if database == "sqlite" and big and size == str(max(EXPORT_SIZES)):
                add(database, f"export {size}: ≥ 10,000 rows/s", figures["rows_per_s"], figures["rows_per_s"] >= 10_000)  # fmt: skip
    return goals


def markdown(results: dict) -> str:
    lines = [
        f"# ParkMind benchmark — {results['started']}",
        "",
        f"Command: `{results['command']}`  ",
        f"Machine: {results['machine']}  ",
        f"gunicorn for every server: `{' '.join(GUNICORN[3:]).replace(str(ROOT) + '/', '')} --worker-connections {Server.connection_cap}`; load: {results['generator']}, "
        f"{results['opts']['connections']} connections, warm-up {results['opts']['warmup']} s "
        f"discarded, {results['opts']['passes']} interleaved passes of {results['opts']['duration']} s, "
        "medians. CPU/req = server CPU (gunicorn master+workers, plus mariadbd or postgres and "
        "redis-server) per request, from /proc.",
        "",
    ]
    for db_result in results["databases"]:
        database = db_result["database"]
        plan = db_result["seed"]["plan"]
        lines += [
            f"## {database} (APP_ENV={db_result['app_env']})",
            "",
            f"Seeded {db_result['seed']['rows']:,} rows in {db_result['seed']['seconds']} s "
            f"(scale {plan['scale']}: {plan['users']:,} users, {plan['lots']:,} lots, "
            f"{plan['lots'] * plan['spots_per_lot']:,} spots, {plan['occupied']:,} occupied, "
            f"{plan['past_bookings']:,} past bookings, {plan['events']:,} parking events)."
            + (
                f" MariaDB `innodb_buffer_pool_size`: {db_result['buffer_pool'] / 2**20:,.0f} MiB."
                if db_result.get("buffer_pool")
                else ""
            ),
            "",
            "| endpoint | server | req/s | p50 ms | p90 ms | p99 ms | errors | CPU/req ms (total) | CPU/req ms (gunicorn) | req/s ratio | CPU ratio |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, row in db_result["throughput"].items():
            for label in ("app", "baseline", "flask_min", "bare"):
                if label not in row:
                    continue
                m = row[label]
                ratio = (row.get("rps_ratio"), row.get("cpu_ratio")) if label == "app" else ("", "")
                lines.append(
                    f"| {name} | {label} | {m['rps']:.0f} | {m['p50_ms']:.1f} | {m['p90_ms']:.1f} | "
                    f"{m['p99_ms']:.1f} | {m['errors']} | {m['cpu_total_ms']:.2f} | "
                    f"{m['cpu_app_ms']:.2f} | {ratio[0] if ratio[0] is not None else ''} | "
                    f"{ratio[1] if ratio[1] is not None else ''} |"
                )
        login = db_result["login"]
        burst = db_result["burst"]
        lines += [
            "",
            f"Login (2 connections, rate limiting on in Redis): {login['rps']:.1f} logins/s, "
            f"p50 {login['p50_ms']:.0f} ms, p99 {login['p99_ms']:.0f} ms, errors {login['errors']}, "
            f"CPU/login {login['cpu_total_ms']:.1f} ms vs raw argon2id verify "
            f"{login['raw_hash_cpu_ms']:.1f} ms (ratio {login['cpu_ratio']}).",
            "",
            f"Booking burst ({burst['bursts']} × 32 simultaneous into a 50-spot lot): statuses "
            f"{burst['statuses']}, p50 {burst['p50_ms']} ms, p99 {burst['p99_ms']} ms, server "
            f"retries {burst['server_retries']}, double bookings {burst['double_bookings']}, "
            f"inconsistent checks {burst['inconsistent_checks']}.",
            "",
            "| CSV export rows | seconds | rows/s | first row s | peak RSS growth MB |",
            "|---:|---:|---:|---:|---:|",
        ]
        for size, e in db_result["exports"].items():
            lines.append(
                f"| {int(size):,} | {e['seconds']} | {e['rows_per_s']:,.0f} | {e['first_row_s']} | "
                f"{e['peak_growth_mb']} |"
            )
        lines.append("")
    lines += goals_table(results["goals"])
    return "\n".join(lines)


def goals_table(goals: list[dict]) -> list[str]:
    """The Goals section (Markdown lines) of a report: one row per goal, failures in bold."""
    lines = ["## Goals", "", "| database | goal | value | holds |", "|---|---|---:|---|"]
    for goal in goals:
        lines.append(
            f"| {goal['database']} | {goal['goal']} | {goal['value']} | {'yes' if goal['ok'] else '**NO**'} |"
        )
    lines.append("")
    return lines


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--quick", action="store_true", help="scale 0.1, short runs (< 5 min)")
    parser.add_argument(
        "--growth",
        action="store_true",
        help="only the growth measurement (bench/growth.py): scale 0.1 against scale 10, no cache",
    )
    parser.add_argument("--growth-scales", default="0.1,10", help="small,large")
    parser.add_argument("--growth-requests", type=int, default=30, help="timed, per request")
    parser.add_argument("--growth-warmup", type=int, default=5, help="discarded, per request")
    parser.add_argument(
        "--mariadb-buffer-pool",
        default=None,
        help="set MariaDB's innodb_buffer_pool_size (e.g. 2G) for the run, then restore it",
    )
    parser.add_argument(
        "--db",
        choices=("sqlite", "mariadb", "postgres", "both", "all"),
        default=None,
        help="both: SQLite and MariaDB (the default); all: PostgreSQL as well",
    )
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--login-duration", type=float, default=4.0)
    parser.add_argument("--hash-rounds", type=int, default=5)
    parser.add_argument("--bursts", type=int, default=20)
    parser.add_argument("--export-sizes", default="50000,200000")
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--no-redis", dest="redis", action="store_false")
    parser.add_argument("--no-goals", dest="goals", action="store_false", help="never exit 1")
    parser.add_argument("--out", default=str(RESULTS), help="results folder")
    parser.add_argument(
        "--keep", action="store_true", help="keep each database's work folder (SQLite file, logs)"
    )
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.scale = min(opts.scale, 0.1)
        # Five passes of 1.2 s: a median over five, so one noisy second cannot decide a goal.
        opts.duration, opts.warmup, opts.login_duration = 1.2, 0.5, 2.0
        opts.passes = max(opts.passes, 5)
        opts.bursts, opts.hash_rounds = 10, 3
        opts.db = opts.db or "sqlite"  # both databases do not fit in 3 minutes here
    opts.db = opts.db or "both"
    opts.export_sizes = tuple(int(x) for x in str(opts.export_sizes).split(","))
    return opts


def main(argv=None) -> int:
    opts = parse_args(argv)
    if opts.growth:
        from bench import growth

        opts.argv = sys.argv[1:] if argv is None else list(argv)
        return growth.main(opts)
    Server.connection_cap = worker_connections(opts.connections)
    wrk = None if opts.load == "python" else load.ensure_wrk()
    if opts.load == "wrk" and not wrk:
        log("wrk is not available")
        return 2
    started = datetime.now(UTC)
    databases = {"both": ("sqlite", "mariadb"), "all": ("sqlite", "mariadb", "postgres")}.get(
        opts.db, (opts.db,)
    )
    results = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start",
        "generator": "wrk" if wrk else "Python threads (http.client keep-alive)",
        "opts": dict(vars(opts)),
        "databases": [run_database(database, opts, wrk) for database in databases],
    }
    results["machine"] += f", {os.getloadavg()[0]:.2f} at end"
    results["goals"] = check_goals(results)
    results["seconds"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    return publish(results, markdown(results), opts, started)


def publish(
    results: dict, text: str, opts, started: datetime, *, name: str = "latest", what: str = "done"
) -> int:
    """Write ``name``.md/.json and a timestamped copy under runs/, print the report and answer
    the exit status: 1 when a goal failed (unless goals are off)."""
    out = Path(opts.out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ") + name.removeprefix("latest")
    for path in (out / f"{name}.md", out / "runs" / f"{stamp}.md"):
        path.write_text(text)
    for path in (out / f"{name}.json", out / "runs" / f"{stamp}.json"):
        path.write_text(json.dumps(results, indent=1, default=str))
    print(text)
    failed = [goal for goal in results["goals"] if not goal["ok"]]
    log(f"{what} in {results['seconds']} s; {len(failed)} goal(s) failed")
    return 1 if failed and opts.goals else 0
