"""``python -m bench --growth``: does a request's time grow with the data?

For each database, two fresh databases side by side, seeded at the growth scales (0.1 and 10 by
default, each with the heavy user: 100,000 bookings per unit of scale, at least 20,000). On each:
the app under gunicorn WITHOUT Redis (so nothing is cached: ``app.platform.cache`` computes
every value when the cache is not shared). Per request, the median of ``--growth-requests``
sequential requests on one keep-alive connection, timed in three rounds in which the scales
alternate (each round's requests after ``--growth-warmup`` discarded ones):

- ``GET /bookings`` of the heavy user: page 1, ``?page=500``, and page 500 reached by following
  ``next_cursor`` from page 1 (the 499th cursor, reused for every timed request);
- ``GET /lots`` (page 1) and ``GET /admin/stats``.

Goal: time at the large scale ≤ 1.5 × time at the small scale, for each. Beside the figures, the
SQL the service functions run for those requests (captured in-process, ``bench.worker explain``)
with the database's plan for each statement, so a failed goal comes with its cause.
"""

# ruff: noqa: E501, RUF001, RUF002

from __future__ import annotations

import http.client
import json
import os
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import run

GROWTH_LIMIT = 1.5
PAGE_DEPTH = 500
# The timed requests come in this many rounds, the scales alternating which goes first.
GROWTH_ROUNDS = 3
REQUESTS = (
    "GET /bookings page 1",
    "GET /bookings ?page=500",
    "GET /bookings cursor at page 500",
    "GET /lots",
    "GET /admin/stats",
)


def _scale_tag(scale: float) -> str:
    return f"{scale:g}".replace(".", "_")


def database_env(database: str, scale: float, tmp: Path, opts) -> tuple[dict, str]:
    """The app's environment for one growth database (no Redis) and the database's name."""
    env, _ = run.database_env(database, tmp, opts)
    env.pop("REDIS_URL", None)  # no shared cache: every request computes its answer
    name = f"parkmind_bench_growth_{_scale_tag(scale)}"
    if database == "mariadb":
        url = f"{run.MARIADB_SERVER}/{name}?charset=utf8mb4"
    elif database == "postgres":
        url = f"{run.POSTGRES_SERVER}/{name}"
    else:
        url = f"sqlite:///{tmp / f'growth-{_scale_tag(scale)}.db'}"
    env["DATABASE_URL"] = url
    return env, name


class Client:
    """One keep-alive HTTP connection; reconnects when the server closed it."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def get(self, path: str, token: str) -> tuple[int, bytes, float]:
        headers = {"Authorization": f"Bearer {token}"}
        for attempt in (1, 2):
            try:
                started = time.perf_counter()
                self.conn.request("GET", path, headers=headers)
                response = self.conn.getresponse()
                body = response.read()
                return response.status, body, time.perf_counter() - started
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


def time_requests(client: Client, path: str, token: str, count: int) -> list[float]:
    """``count`` sequential requests: their times in ms."""
    times = []
    for _ in range(count):
        status, body, elapsed = client.get(path, token)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body[:300]!r}")
        times.append(elapsed * 1000)
    return times


def summary(times: list[float]) -> dict:
    times = sorted(times)
    return {
        "median_ms": round(statistics.median(times), 3),
        "p90_ms": round(times[int(0.9 * (len(times) - 1))], 3),
        "min_ms": round(times[0], 3),
        "max_ms": round(times[-1], 3),
        "requests": len(times),
    }


def cursor_at_page(client: Client, token: str, depth: int) -> tuple[str, int]:
    """The ``next_cursor`` that leads to page ``depth``, by following cursors from page 1; also
    the id of that page's first booking."""
    path = "/api/v1/bookings"
    cursor = None
    for _ in range(depth - 1):
        status, body, _ = client.get(path if cursor is None else f"{path}?cursor={cursor}", token)
        if status != 200:
            raise RuntimeError(f"following cursors: {status} {body[:300]!r}")
        cursor = json.loads(body)["next_cursor"]
        if cursor is None:
            raise RuntimeError(f"the heavy user's history ends before page {depth}")
    status, body, _ = client.get(f"{path}?cursor={cursor}", token)
    return cursor, json.loads(body)["items"][0]["id"]


class Scale:
    """One growth database: seeded, served without Redis, with its heavy user's tokens."""

    def __init__(self, database: str, scale: float, opts):
        self.database, self.scale, self.opts = database, scale, opts
        self.tmp = Path(tempfile.mkdtemp(prefix=f"parkmind-growth-{database}-"))
        self.env, self.name = database_env(database, scale, self.tmp, opts)
        self.server = None
        self.load = {"start": round(os.getloadavg()[0], 2)}
        self.times: dict[str, list[float]] = {request: [] for request in REQUESTS}

    def prepare(self) -> None:
        """Seed, start the server, find page 500 by cursor; warm every request up."""
        run.create_database(self.database, self.name)
        run.log(f"growth {self.database}: seeding scale {self.scale}")
        self.seeded = run.worker(
            self.env, "seed", "--scale", str(self.scale), "--heavy", timeout=3600
        )
        run.log(
            f"growth {self.database}: scale {self.scale}: {self.seeded['rows']:,} rows in {self.seeded['seconds']} s"
        )
        self.heavy = self.seeded["heavy_user_id"]
        admin = self.seeded["admin_id"]
        tokens = run.worker(self.env, "tokens", "--users", f"{self.heavy},{admin}")["tokens"]
        self.load["seeded"] = round(os.getloadavg()[0], 2)
        logs = self.tmp / "logs"
        logs.mkdir()
        self.server = run.Server(
            f"app-{self.scale:g}", "bench.wsgi:app", self.env, logs / "app.log"
        )
        self.client = Client(self.server.port)
        user, boss = tokens[str(self.heavy)], tokens[str(admin)]
        cursor, cursor_first = cursor_at_page(self.client, user, PAGE_DEPTH)
        self.paths = {
            "GET /bookings page 1": ("/api/v1/bookings", user),
            "GET /bookings ?page=500": (f"/api/v1/bookings?page={PAGE_DEPTH}", user),
            "GET /bookings cursor at page 500": (f"/api/v1/bookings?cursor={cursor}", user),
            "GET /lots": ("/api/v1/lots", user),
            "GET /admin/stats": ("/api/v1/admin/stats", boss),
        }
        _, body, _ = self.client.get(self.paths["GET /bookings ?page=500"][0], user)
        self.same_page = json.loads(body)["items"][0]["id"] == cursor_first

    def measure(self, count: int) -> None:
        for request, (path, token) in self.paths.items():
            time_requests(self.client, path, token, self.opts.growth_warmup)
            self.times[request] += time_requests(self.client, path, token, count)

    def explain(self) -> None:
        self.client.close()
        self.server.stop()
        self.server = None
        self.load["measured"] = round(os.getloadavg()[0], 2)
        self.plans = run.worker(
            self.env, "explain", "--user", str(self.heavy), "--depth", str(PAGE_DEPTH), timeout=1200
        )["requests"]

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
        run.drop_database(self.database, self.name)
        if self.opts.keep:
            run.log(f"growth {self.database}: work folder kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def result(self) -> dict:
        return {
            "scale": self.scale,
            "database_name": self.name if self.database != "sqlite" else "(file)",
            "seed": {k: self.seeded[k] for k in ("rows", "seconds", "plan")},
            "load_average": self.load,
            "same_page_500": self.same_page,
            "timings": {request: summary(times) for request, times in self.times.items()},
            "plans": self.plans,
        }


def measure_database(database: str, opts) -> dict:
    """Both scales seeded side by side, then measured in interleaved rounds (so a change in the
    machine's load falls on both), then the statements' plans."""
    scales = [Scale(database, float(x), opts) for x in str(opts.growth_scales).split(",")]
    started = time.perf_counter()
    server_settings = {}
    if database == "mariadb":
        # 128 MB (the default) holds a fraction of scale 10's booking indexes: every insert
        # then reads and writes index pages at random, and the seed takes most of an hour.
        wanted = run.size_in_bytes(opts.mariadb_buffer_pool) if opts.mariadb_buffer_pool else None
        server_settings["innodb_buffer_pool_size_before"] = run.buffer_pool(wanted)
        server_settings["innodb_buffer_pool_size"] = run.buffer_pool(None)
        run.log(
            f"growth mariadb: innodb_buffer_pool_size {server_settings['innodb_buffer_pool_size']:,}"
        )
    try:
        for scale in scales:
            scale.prepare()
        rounds = GROWTH_ROUNDS
        per_round = -(-opts.growth_requests // rounds)
        for number in range(rounds):
            order = scales if number % 2 == 0 else scales[::-1]
            for scale in order:
                scale.measure(per_round)
            run.log(f"growth {database}: round {number + 1}/{rounds} done")
        for scale in scales:
            scale.explain()
    finally:
        for scale in scales:
            scale.close()
        if database == "mariadb" and opts.mariadb_buffer_pool:
            run.buffer_pool(server_settings["innodb_buffer_pool_size_before"])
    return {
        "database": database,
        "server_settings": server_settings,
        "scales": [scale.result() for scale in scales],
        "seconds": round(time.perf_counter() - started, 1),
    }


def check_goals(results: dict) -> list[dict]:
    """Per database and request: time at the large scale ≤ 1.5 × time at the small scale."""
    goals = []
    for db_result in results["databases"]:
        small, large = db_result["scales"][0], db_result["scales"][-1]
        for request in REQUESTS:
            a, b = small["timings"][request]["median_ms"], large["timings"][request]["median_ms"]
            ratio = round(b / a, 2) if a else None
            goals.append(
                {
                    "database": db_result["database"],
                    "goal": f"{request}: time at scale {large['scale']:g} ≤ {GROWTH_LIMIT} × scale {small['scale']:g}",
                    "value": ratio,
                    "ok": ratio is not None and ratio <= GROWTH_LIMIT,
                }
            )
        goals.append(
            {
                "database": db_result["database"],
                "goal": "cursor and ?page=500 reach the same page",
                "value": all(s["same_page_500"] for s in db_result["scales"]),
                "ok": all(s["same_page_500"] for s in db_result["scales"]),
            }
        )
    return goals


def _plan_text(plan: dict) -> list[str]:
    lines = [f"`{plan['sql_ms']} ms` in-process", "```sql", plan["sql"], "```"]
    if plan.get("params"):
        lines.append(f"parameters: `{json.dumps(plan['params'], default=str)[:300]}`")
    lines += ["```", *plan["plan"], "```", ""]
    return lines


def markdown(results: dict) -> str:
    opts = results["opts"]
    lines = [
        f"# ParkMind growth benchmark — {results['started']}",
        "",
        f"Command: `{results['command']}`  ",
        f"Machine: {results['machine']}  ",
        f"The app under gunicorn (`{' '.join(run.GUNICORN[3:]).replace(str(run.ROOT) + '/', '')}`) "
        "without Redis: nothing is cached. Per request: the median of "
        f"{opts['growth_requests']} sequential requests on one keep-alive connection (ms, client "
        f"side), in {GROWTH_ROUNDS} rounds in which the two scales' servers alternate, each "
        f"round after {opts['growth_warmup']} discarded requests. The heavy user's "
        "bookings are read at page 1, at `?page=500` and at page 500 by the `next_cursor` of "
        "page 499 (reached by following cursors from page 1). "
        f"Goal: time at the large scale ≤ {GROWTH_LIMIT} × time at the small scale.",
        "",
    ]
    for db_result in results["databases"]:
        database = db_result["database"]
        small, large = db_result["scales"][0], db_result["scales"][-1]
        lines += [f"## {database}", ""]
        settings = db_result.get("server_settings") or {}
        if settings:
            lines += [
                f"MariaDB `innodb_buffer_pool_size` during the run: {settings['innodb_buffer_pool_size'] / 2**20:,.0f} MiB (before: {settings['innodb_buffer_pool_size_before'] / 2**20:,.0f} MiB, restored after unless the same).",
                "",
            ]
        lines += ["| scale | rows | seeded in s | users | lots | spots | bookings | heavy user's bookings | load average (start / seeded / measured) |", "|---:|---:|---:|---:|---:|---:|---:|---:|---|"]  # fmt: skip
        for scale in db_result["scales"]:
            plan, load = scale["seed"]["plan"], scale["load_average"]
            bookings = (
                plan["occupied"] + plan["past_bookings"] + plan["export_rows"] + plan["heavy_rows"]
            )
            lines.append(
                f"| {plan['scale']:g} | {scale['seed']['rows']:,} | {scale['seed']['seconds']} | "
                f"{plan['users']:,} | {plan['lots']:,} | {plan['lots'] * plan['spots_per_lot']:,} | "
                f"{bookings:,} | {plan['heavy_rows']:,} | "
                f"{load.get('start')} / {load.get('seeded')} / {load.get('measured')} |"
            )
        lines += [
            "",
            f"| request | scale {small['scale']:g} median ms | p90 | scale {large['scale']:g} median ms | p90 | ratio | ≤ {GROWTH_LIMIT} |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for request in REQUESTS:
            a, b = small["timings"][request], large["timings"][request]
            ratio = round(b["median_ms"] / a["median_ms"], 2) if a["median_ms"] else None
            ok = ratio is not None and ratio <= GROWTH_LIMIT
            lines.append(
                f"| {request} | {a['median_ms']:.2f} | {a['p90_ms']:.2f} | {b['median_ms']:.2f} | "
                f"{b['p90_ms']:.2f} | {ratio} | {'yes' if ok else '**NO**'} |"
            )
        lines.append("")
    lines += run.goals_table(results["goals"])
    lines += [
        "## The SQL of each request and its plan",
        "",
        "Captured in-process: the service function each view calls, run under an app context with "
        "a `before_cursor_execute` listener (the request's token check, the same at every scale, "
        "is not shown), then EXPLAINed on the same database (SQLite: `EXPLAIN QUERY PLAN`). "
        "`ms` is the statement's time in that process (second run), from sending it to the "
        "driver's answer: on MariaDB and PostgreSQL every row has arrived by then; SQLite hands "
        "rows over as they are read, so there it is the time to the first row.",
        "",
    ]
    for db_result in results["databases"]:
        for scale in db_result["scales"]:
            lines += [f"### {db_result['database']}, scale {scale['scale']:g}", ""]
            for request, plans in scale["plans"].items():
                lines += [f"#### {request}", ""]
                for plan in plans:
                    lines += _plan_text(plan)
    return "\n".join(lines)


def main(opts) -> int:
    """Measure growth on each database; write latest-growth.md/.json; 1 when a goal fails."""
    opts.redis = False
    started = datetime.now(UTC)
    databases = {"both": ("sqlite", "mariadb"), "all": ("sqlite", "mariadb", "postgres")}.get(
        opts.db, (opts.db,)
    )
    results = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m bench " + " ".join(opts.argv),
        "machine": f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start",
        "opts": {k: v for k, v in vars(opts).items() if k != "argv"},
        "databases": [],
    }
    for database in databases:
        results["databases"].append(measure_database(database, opts))
    results["machine"] += f", {os.getloadavg()[0]:.2f} at end"
    results["goals"] = check_goals(results)
    results["seconds"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    return run.publish(
        results, markdown(results), opts, started, name="latest-growth", what="growth done"
    )
