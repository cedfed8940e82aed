"""Load generation on loopback: wrk (Debian's package) with a Lua script, or a Python fallback.

A scenario is either a rotation over prebuilt requests (method, path, headers, body), each
connection sending the next one in turn, or the book-and-release ``cycle`` (one user per
connection: book a spot in a lot, release it, again). Both generators report the same figures:
requests, seconds, requests/s, p50/p90/p99 latency (ms), errors (non-2xx or socket errors).
"""

# ruff: noqa: S603, S607

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field

HOST = "127.0.0.1"


@dataclass
class Req:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


@dataclass
class Scenario:
    """What to send: ``requests`` in rotation, or a book/release ``cycle`` per connection."""

    name: str
    requests: list[Req] = field(default_factory=list)
    cycle_tokens: list[str] = field(default_factory=list)
    cycle_lots: list[int] = field(default_factory=list)
    connections: int = 16

    @property
    def is_cycle(self) -> bool:
        return bool(self.cycle_tokens)


@dataclass
class LoadResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int
    generator: str

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def ensure_wrk() -> str | None:
    """The wrk binary; installed from the distribution's packages when missing and root."""
    path = shutil.which("wrk")
    if path or os.environ.get("BENCH_NO_INSTALL"):
        return path
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "wrk"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=300,
        )
    return shutil.which("wrk")


def _lua_string(value: str) -> str:
    return json.dumps(value)  # JSON string escapes are valid Lua string escapes for ASCII


LUA_ROTATE = """
local reqs = {%(reqs)s}
local counter = 0
function init(args)
  local built = {}
  for i, r in ipairs(reqs) do
    built[i] = wrk.format(r[1], r[2], r[3], r[4])
  end
  reqs = built
  counter = math.random(0, #reqs - 1)
end
function request()
  counter = counter + 1
  return reqs[(counter %% #reqs) + 1]
end
"""

LUA_CYCLE = """
local tokens = {%(tokens)s}
local lots = {%(lots)s}
local threads = {}
local index = 0
function setup(thread)
  index = index + 1
  thread:set("token", tokens[((index - 1) %% #tokens) + 1])
  thread:set("lot", lots[((index - 1) %% #lots) + 1])
  table.insert(threads, thread)
end
local booking = nil
function request()
  local headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
  if booking then
    return wrk.format("POST", "/api/v1/bookings/" .. booking .. "/release", headers, "")
  end
  local body = '{"lot_id": ' .. lot .. ', "vehicle_number": "KA01BENCH"}'
  return wrk.format("POST", "/api/v1/bookings", headers, body)
end
function response(status, headers, body)
  if booking then
    booking = nil
  elseif status == 201 then
    booking = string.match(body, '"id"%%s*:%%s*(%%d+)')
  end
end
"""

LUA_DONE = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def _lua_for(scenario: Scenario) -> str:
    if scenario.is_cycle:
        tokens = ", ".join(_lua_string(t) for t in scenario.cycle_tokens)
        lots = ", ".join(str(lot) for lot in scenario.cycle_lots)
        return LUA_CYCLE % {"tokens": tokens, "lots": lots} + LUA_DONE
    rows = []
    for req in scenario.requests:
        headers = ", ".join(
            f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in req.headers.items()
        )
        body = _lua_string(req.body) if req.body is not None else "nil"
        rows.append(
            f"{{{_lua_string(req.method)}, {_lua_string(req.path)}, {{{headers}}}, {body}}}"
        )
    return LUA_ROTATE % {"reqs": ",\n".join(rows)} + LUA_DONE


def run_wrk(wrk: str, port: int, scenario: Scenario, seconds: float) -> LoadResult:
    """Drive ``scenario`` with wrk for ``seconds`` (one thread per connection for cycles)."""
    connections = scenario.connections
    threads = connections if scenario.is_cycle else min(2, connections)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(_lua_for(scenario))
        script = handle.name
    try:
        duration = max(1, round(seconds))
        proc = subprocess.run(
            [
                wrk,
                f"-t{threads}",
                f"-c{connections}",
                f"-d{duration}s",
                "--timeout",
                "10s",
                "-s",
                script,
                f"http://{HOST}:{port}",
            ],
            capture_output=True,
            text=True,
            timeout=duration + 30,
        )
    finally:
        os.unlink(script)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            data = json.loads(line[len("BENCHJSON ") :])
            secs = data["duration_us"] / 1e6
            return LoadResult(
                requests=data["requests"],
                seconds=round(secs, 3),
                rps=round(data["requests"] / secs, 1) if secs else 0.0,
                p50_ms=data["p50_us"] / 1000,
                p90_ms=data["p90_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                errors=data["errors"],
                generator="wrk",
            )
    raise RuntimeError(f"wrk gave no result: {proc.stdout[-500:]} {proc.stderr[-500:]}")


def _percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def run_python(
    port: int, scenario: Scenario, seconds: float, max_requests: int = 200_000
) -> LoadResult:
    """Drive ``scenario`` from threads with keep-alive ``http.client`` connections.

    Bounded in time and in requests; loopback only. Costs more client CPU than wrk.
    """
    stop_at = time.perf_counter() + seconds
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]
    sent = [0]

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        mine: list[float] = []
        bad = 0
        counter = index
        booking: str | None = None
        token = lot = None
        if scenario.is_cycle:
            token = scenario.cycle_tokens[index % len(scenario.cycle_tokens)]
            lot = scenario.cycle_lots[index % len(scenario.cycle_lots)]
        # Every connection sends at least one request: on a loaded machine a thread can start
        # after the window closed, and a pass must still measure something.
        first = True
        while first or time.perf_counter() < stop_at:
            first = False
            with lock:
                if sent[0] >= max_requests:
                    break
                sent[0] += 1
            if scenario.is_cycle:
                headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                if booking:
                    req = Req("POST", f"/api/v1/bookings/{booking}/release", headers, "")
                else:
                    body = json.dumps({"lot_id": lot, "vehicle_number": "KA01BENCH"})
                    req = Req("POST", "/api/v1/bookings", headers, body)
            else:
                req = scenario.requests[counter % len(scenario.requests)]
                counter += 1
            started = time.perf_counter()
            try:
                conn.request(req.method, req.path, body=req.body, headers=req.headers)
                response = conn.getresponse()
                payload = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
                continue
            mine.append(time.perf_counter() - started)
            if status >= 400:
                bad += 1
            if scenario.is_cycle:
                if booking:
                    booking = None
                elif status == 201:
                    booking = str(json.loads(payload)["id"])
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    began = time.perf_counter()
    workers = [
        threading.Thread(target=worker, args=(i,), daemon=True) for i in range(scenario.connections)
    ]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(seconds + 15)
    elapsed = time.perf_counter() - began
    latencies.sort()
    return LoadResult(
        requests=len(latencies),
        seconds=round(elapsed, 3),
        rps=round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        p50_ms=round(_percentile(latencies, 50) * 1000, 3),
        p90_ms=round(_percentile(latencies, 90) * 1000, 3),
        p99_ms=round(_percentile(latencies, 99) * 1000, 3),
        errors=errors[0],
        generator="python",
    )


def run(port: int, scenario: Scenario, seconds: float, wrk: str | None) -> LoadResult:
    """wrk when available (and runs of at least a second), the Python generator otherwise."""
    if wrk and seconds >= 1:
        return run_wrk(wrk, port, scenario, seconds)
    return run_python(port, scenario, seconds)
