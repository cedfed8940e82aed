"""Faults on real processes, each with nothing lost.

Every test starts its own processes on loopback (a private ``redis-server``, gunicorn, Celery
workers), breaks one of them the way production breaks, and checks what a client sees and what
the database holds afterwards. The machine's shared Redis and MariaDB are never stopped: Redis
faults use a private server, MariaDB faults kill only the connections to the test's own database.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import require
from tests.support.celery_worker import _restore_celery_current_app, worker_settings
from tests.support.live_server import migrated_database
from tests.support.processes import (
    private_redis,
    start_celery_beat,
    start_celery_worker,
    start_gunicorn,
    stop_group,
    wait_until,
)

API = "/api/v1"


@contextmanager
def seeding(url: str, **overrides):
    """An app context on ``url`` for writing fixtures with the factories (committed)."""
    from tests.conftest import make_app

    with _restore_celery_current_app():
        app = make_app(url, **overrides)
        with app.app_context():
            from app.platform.extensions import db

            try:
                yield app
                db.session.commit()
            finally:
                db.session.remove()
                db.engine.dispose()


def login(base: str, username: str, password: str | None = None) -> dict[str, str]:
    from tests.factories import PASSWORD

    response = requests.post(
        f"{base}{API}/auth/login",
        json={"login": username, "password": password or PASSWORD},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def assert_json_error(response: requests.Response, *statuses: int) -> dict:
    """A failure in the contract's error shape (JSON, never HTML), with one of ``statuses``."""
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:300]
    error = response.json()["error"]
    assert error["status"] == response.status_code
    assert error["code"] and error["message"]
    return error


# --- Redis stopped ------------------------------------------------------------------------------


def test_redis_stopped_reads_answer_limits_hold_revocations_stay(tmp_path):
    """Reads come from the database, login is limited in memory, a logout stays a logout."""
    from tests.factories import LotFactory, UserFactory

    with (
        private_redis(tmp_path / "redis") as redis_server,
        migrated_database("sqlite", tmp_path) as url,
    ):
        with seeding(url):
            driver = UserFactory()
            lot = LotFactory(spots=3)
            username, lot_id = driver.username, lot.id
        prefix = f"parkmind-fault-{uuid.uuid4().hex[:8]}:"
        env = {
            "DATABASE_URL": url,
            "REDIS_URL": redis_server.url,
            "CACHE_KEY_PREFIX": prefix,
            "RATELIMIT_ENABLED": "true",
            "LOGIN_RATE_LIMIT": "3 per minute",
            "LOGIN_ACCOUNT_RATE_LIMIT": "100 per minute",
        }
        # One worker: the in-memory fallback counts per process, so one process shows the limit.
        server, base = start_gunicorn(env, tmp_path / "gunicorn.log", workers=1, threads=4)
        try:
            _redis_fault_scenario(base, redis_server, username, lot_id, prefix)
        finally:
            stop_group(server)


def _redis_fault_scenario(base, redis_server, username, lot_id, prefix) -> None:
    import redis

    ready = requests.get(f"{base}{API}/ready", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["redis"]["status"] == "ok"

    kept = login(base, username)  # login 1 of 3 this minute
    revoked = login(base, username)  # login 2 of 3
    assert requests.post(f"{base}{API}/auth/logout", headers=revoked, timeout=10).status_code == 204

    lots = requests.get(f"{base}{API}/lots", headers=kept, timeout=10)
    assert lots.status_code == 200
    store = redis.Redis.from_url(redis_server.url)
    assert store.keys(f"{prefix}lots:*"), "the lot list is cached in Redis while it is up"
    assert store.keys("LIMITS*"), "login counters live in Redis while it is up"

    redis_server.stop()

    # Reads answer from the database.
    for _ in range(3):
        again = requests.get(f"{base}{API}/lots", headers=kept, timeout=10)
        assert again.status_code == 200, again.text
        assert again.json() == lots.json()
    me = requests.get(f"{base}{API}/me", headers=kept, timeout=10)
    assert me.status_code == 200, me.text
    assert me.json()["username"] == username
    assert requests.get(f"{base}{API}/lots/{lot_id}", headers=kept, timeout=10).status_code == 200

    # A revoked token stays revoked: revocation is in the database, not in Redis.
    refused = requests.get(f"{base}{API}/me", headers=revoked, timeout=10)
    assert assert_json_error(refused, 401)["code"] == "token_revoked"

    # Writes go on, and the next read sees them (nothing served from a stale cache).
    booked = requests.post(
        f"{base}{API}/bookings",
        json={"lot_id": lot_id, "vehicle_number": "KA01RD0001"},
        headers=kept,
        timeout=10,
    )
    assert booked.status_code == 201, booked.text
    free = requests.get(f"{base}{API}/lots/{lot_id}", headers=kept, timeout=10).json()
    assert free["free_spots"] == 2

    # Readiness tells the load balancer, by name.
    down = requests.get(f"{base}{API}/ready", timeout=10)
    assert down.status_code == 503
    assert down.json()["checks"]["redis"]["status"] == "down"
    assert down.json()["checks"]["database"]["status"] == "ok"

    # Login stays rate limited: the counters move to memory (they start again from zero there).
    wrong = {"login": username, "password": "not-the-password"}
    attempts = [requests.post(f"{base}{API}/auth/login", json=wrong, timeout=30) for _ in range(5)]
    statuses = [r.status_code for r in attempts]
    assert 429 in statuses and statuses.index(429) <= 3, statuses
    assert set(statuses) <= {401, 429}, statuses
    limited = attempts[statuses.index(429)]
    assert assert_json_error(limited, 429)["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0

    redis_server.start()

    # Everything is normal again, without restarting the app.
    wait_until(
        lambda: requests.get(f"{base}{API}/ready", timeout=10).status_code == 200,
        15,
        message="ready did not recover after Redis came back",
    )

    def limiter_back_on_redis() -> bool:
        response = requests.post(f"{base}{API}/auth/login", json=wrong, timeout=30)
        assert response.status_code in (401, 429), response.text
        return response.status_code == 401 and bool(store.keys("LIMITS*"))

    # The limiter probes its storage with a growing back-off (1, 2, 4 ... s).
    wait_until(limiter_back_on_redis, 40, interval=0.5, message="limiter never went back")
    after = requests.get(f"{base}{API}/lots", headers=kept, timeout=10)
    assert after.status_code == 200
    assert next(item for item in after.json()["items"] if item["id"] == lot_id)["free_spots"] == 2
    assert store.keys(f"{prefix}lots:*"), "the cache is used again"
    statuses = [
        requests.post(f"{base}{API}/auth/login", json=wrong, timeout=30).status_code
        for _ in range(3)
    ]
    assert statuses == [401, 401, 429], "counted in Redis again: 3 per minute"
    assert requests.get(f"{base}{API}/me", headers=revoked, timeout=10).status_code == 401
    store.close()


# --- MariaDB connections killed -----------------------------------------------------------------

DRIVERS = 8
SPOTS = 5
LOAD_SECONDS = 6.0
MIN_REQUESTS = 60
MAX_LOAD_SECONDS = 40.0  # on a loaded machine the load runs longer to reach MIN_REQUESTS
ALLOWED = {200, 201, 404, 409, 503}


@pytest.mark.parametrize("backend", ["mariadb", "postgresql"])
def test_connections_killed_mid_load_fail_as_503_then_recover(tmp_path, backend):
    """Killed connections (MariaDB ``KILL``, PostgreSQL ``pg_terminate_backend``): 503 JSON at
    worst, the next requests succeed, no half-written booking."""
    require(backend)
    from tests.factories import LotFactory, UserFactory

    with migrated_database(backend, tmp_path) as url:
        with seeding(url):
            names = [UserFactory().username for _ in range(DRIVERS)]
            lot_id = LotFactory(spots=SPOTS).id
        database = sa.engine.make_url(url).database
        server, base = start_gunicorn(
            {"DATABASE_URL": url}, tmp_path / "gunicorn.log", workers=2, threads=4
        )
        try:
            headers = [login(base, name) for name in names]
            outcome = _load_while_killing(base, headers, lot_id, database, backend)
            after = _every_driver_served(base, headers, lot_id)
        finally:
            stop_group(server)
        log = (tmp_path / "gunicorn.log").read_text(errors="replace")
        invariants = _booking_invariants(url)

    statuses, killed, errors = outcome
    report = f"killed {killed} connections during {sum(statuses.values())} requests: {statuses}"
    print(report)
    assert killed >= 3, report
    assert sum(statuses.values()) >= MIN_REQUESTS, report
    assert 500 not in statuses, (report, log[-3000:])
    assert set(statuses) <= ALLOWED, report
    assert not errors, errors[:5]
    assert after == {"lots": [200] * DRIVERS, "book": 201, "release": 200}
    assert invariants == {
        "occupied_without_booking": 0,
        "booking_without_spot": 0,
        "completed_without_one_payment": 0,
        "payments_of_active": 0,
    }, invariants


# Each server's own connections to the test database, and how to end one.
SESSIONS = {
    "mariadb": (
        "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = :db AND ID <> CONNECTION_ID()",
        "KILL {id}",
    ),
    "postgresql": (
        "SELECT pid FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()",
        "SELECT pg_terminate_backend({id})",
    ),
}


def _load_while_killing(base, headers, lot_id, database, backend):
    statuses: Counter = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def call(method, path, auth, **kwargs):
        try:
            response = requests.request(
                method, f"{base}{API}{path}", headers=auth, timeout=30, **kwargs
            )
        except requests.RequestException as exc:  # a dropped connection is a lost request
            with lock:
                errors.append(f"{method} {path}: {exc!r}")
            return None
        with lock:
            statuses[response.status_code] += 1
        if response.status_code >= 400:
            try:
                assert_json_error(response, *ALLOWED)
            except (AssertionError, ValueError, KeyError) as exc:
                with lock:
                    errors.append(f"{method} {path}: {response.status_code} {exc!r}")
        return response

    def drive(auth):
        while not stop.is_set():
            call("GET", "/lots", auth)
            booked = call(
                "POST", "/bookings", auth, json={"lot_id": lot_id, "vehicle_number": "KA01KL0001"}
            )
            if booked is None or booked.status_code in (409, 503):
                # The commit may have happened before the connection died: ask, then release.
                active = call("GET", "/bookings/active", auth)
                booking_id = active.json()["id"] if active is not None and active.ok else None
            else:
                booking_id = booked.json()["id"] if booked.status_code == 201 else None
            if booking_id is not None:
                call("POST", f"/bookings/{booking_id}/release", auth)

    def kill_connections() -> int:
        listing, ending = SESSIONS[backend]
        root = sa.create_engine(
            str(sa.engine.make_url(_server_url(backend))), isolation_level="AUTOCOMMIT"
        )
        killed = 0
        try:
            with root.connect() as conn:
                while not stop.wait(0.4):
                    ids = conn.execute(sa.text(listing), {"db": database}).scalars().all()
                    for connection_id in ids:
                        try:
                            conn.exec_driver_sql(ending.format(id=int(connection_id)))
                            killed += 1
                        except sa.exc.DBAPIError:  # it ended on its own meanwhile
                            pass
        finally:
            root.dispose()
        return killed

    drivers = [threading.Thread(target=drive, args=(auth,)) for auth in headers]
    for thread in drivers:
        thread.start()
    result: dict[str, int] = {}
    killer = threading.Thread(target=lambda: result.setdefault("killed", kill_connections()))
    killer.start()
    started = time.monotonic()
    while time.monotonic() - started < MAX_LOAD_SECONDS:
        elapsed = time.monotonic() - started
        if elapsed >= LOAD_SECONDS and sum(statuses.values()) >= MIN_REQUESTS:
            break
        time.sleep(0.2)
    stop.set()
    killer.join(30)
    for thread in drivers:
        thread.join(60)
    assert not any(t.is_alive() for t in [killer, *drivers]), "load threads did not stop"
    return statuses, result.get("killed", 0), errors


def _server_url(backend: str) -> str:
    from tests.services_probe import MARIADB_URL, POSTGRESQL_URL

    return MARIADB_URL if backend == "mariadb" else f"{POSTGRESQL_URL}/postgres"


def _every_driver_served(base, headers, lot_id) -> dict:
    """Right after the kills, without restarting the app, every request is served."""
    lots = [requests.get(f"{base}{API}/lots", headers=h, timeout=30).status_code for h in headers]
    auth = headers[0]
    active = requests.get(f"{base}{API}/bookings/active", headers=auth, timeout=30)
    if active.ok:
        requests.post(
            f"{base}{API}/bookings/{active.json()['id']}/release", headers=auth, timeout=30
        )
    booked = requests.post(
        f"{base}{API}/bookings",
        headers=auth,
        timeout=30,
        json={"lot_id": lot_id, "vehicle_number": "KA01KL0002"},
    )
    released = (
        requests.post(
            f"{base}{API}/bookings/{booked.json().get('id')}/release", headers=auth, timeout=30
        )
        if booked.status_code == 201
        else None
    )
    return {
        "lots": lots,
        "book": booked.status_code,
        "release": released.status_code if released is not None else None,
    }


def _booking_invariants(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:

            def count(sql: str) -> int:
                return conn.execute(sa.text(sql)).scalar_one()

            return {
                "occupied_without_booking": count(
                    "SELECT COUNT(*) FROM spots s WHERE s.is_occupied = true AND NOT EXISTS ("
                    "SELECT 1 FROM bookings b WHERE b.spot_id = s.id AND b.status = 'active')"
                ),
                "booking_without_spot": count(
                    "SELECT COUNT(*) FROM bookings b JOIN spots s ON s.id = b.spot_id "
                    "WHERE b.status = 'active' "
                    "AND (s.is_occupied = false OR b.active_spot_id IS NULL)"
                ),
                "completed_without_one_payment": count(
                    "SELECT COUNT(*) FROM bookings b WHERE b.status = 'completed' AND ("
                    "SELECT COUNT(*) FROM payments p WHERE p.booking_id = b.id) <> 1"
                ),
                "payments_of_active": count(
                    "SELECT COUNT(*) FROM payments p JOIN bookings b ON b.id = p.booking_id "
                    "WHERE b.status <> 'completed'"
                ),
            }
    finally:
        engine.dispose()


# --- gunicorn SIGTERM with requests in flight ---------------------------------------------------

IN_FLIGHT = 20


def test_sigterm_lets_every_request_in_flight_complete(tmp_path):
    """systemd stops with SIGTERM: twenty logins under way all get their normal answer."""
    from argon2 import PasswordHasher

    from tests.factories import UserFactory

    password = "slow-login-password"
    # A real argon2 cost (~0.1 s a verify here), so the logins are still running at SIGTERM.
    slow_hash = PasswordHasher(time_cost=2, memory_cost=32768, parallelism=1).hash(password)
    with migrated_database("sqlite", tmp_path) as url:
        with seeding(url):
            names = [UserFactory(password_hash=slow_hash).username for _ in range(IN_FLIGHT)]
        server, base = start_gunicorn(
            {"DATABASE_URL": url},
            tmp_path / "gunicorn.log",
            workers=2,
            threads=10,
            graceful_timeout=30,
        )
        results: dict[str, tuple[int, float]] = {}
        started = threading.Barrier(IN_FLIGHT + 1)

        def log_in(name: str) -> None:
            started.wait()
            try:
                response = requests.post(
                    f"{base}{API}/auth/login",
                    json={"login": name, "password": password},
                    timeout=60,
                )
                results[name] = (response.status_code, time.monotonic())
            except requests.RequestException as exc:
                results[name] = (repr(exc), time.monotonic())

        threads = [threading.Thread(target=log_in, args=(name,)) for name in names]
        try:
            for thread in threads:
                thread.start()
            started.wait()
            time.sleep(0.3)  # the requests are sent and accepted
            signalled = time.monotonic()
            os.kill(server.pid, signal.SIGTERM)  # the master, as systemd and Docker do
            for thread in threads:
                thread.join(60)
            exit_code = server.wait(30)
        finally:
            stop_group(server)
        log = (tmp_path / "gunicorn.log").read_text(errors="replace")

    statuses = Counter(status for status, _ in results.values())
    after_signal = sum(1 for _, finished in results.values() if finished > signalled)
    print(
        f"SIGTERM with {IN_FLIGHT} logins in flight: {dict(statuses)}, "
        f"{after_signal} finished after the signal"
    )
    assert statuses == {200: IN_FLIGHT}, (statuses, log[-2000:])
    assert after_signal >= 1, "the signal came after every request had finished"
    assert exit_code == 0, log[-2000:]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}{API}/health", timeout=2)


# --- Celery: a worker killed during an export, and the broker down when it is requested -----------

EXPORT_ROWS = 30_000


@contextmanager
def export_stack(tmp_path: Path, smtp):
    """A private Redis broker, a committed SQLite database and an API app sending it tasks."""
    from tests.conftest import make_app

    storage = tmp_path / "files"
    with (
        private_redis(tmp_path / "redis") as broker,
        migrated_database("sqlite", tmp_path) as url,
        _restore_celery_current_app(),
    ):
        settings, worker_env = worker_settings(url, broker.url, storage, smtp.port)
        api = make_app(url, **settings)
        try:
            yield api, broker, worker_env, storage
        finally:
            with api.app_context():
                from app.platform.extensions import db

                db.session.remove()
                db.engine.dispose()


def _owner_with_bookings(api, rows: int) -> tuple[str, str]:
    """A driver with ``rows`` completed bookings in the last year (bulk insert)."""
    from app.bookings.models import Booking
    from app.platform.extensions import db
    from app.platform.models import utcnow
    from tests.factories import LotFactory, SpotFactory, UserFactory

    with api.app_context():
        owner = UserFactory()
        lot = LotFactory()
        spot = SpotFactory(lot=lot)
        now = utcnow()
        batch = []
        for n in range(rows):
            started = now - timedelta(days=300) + timedelta(minutes=10 * n)
            batch.append(
                {
                    "user_id": owner.id,
                    "lot_id": lot.id,
                    "spot_id": spot.id,
                    "vehicle_number": f"KA01EX{n % 10000:04d}",
                    "remarks": f"trip {n}",
                    "status": "completed",
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
            if len(batch) == 5000:
                db.session.execute(sa.insert(Booking), batch)
                batch = []
        if batch:
            db.session.execute(sa.insert(Booking), batch)
        db.session.commit()
        return owner.username, owner.email


def _export(client, headers, export_id) -> dict:
    response = client.get(f"{API}/exports/{export_id}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _run_job(api, name: str) -> dict:
    result = api.test_cli_runner().invoke(args=["jobs", "run", name])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["result"]


def _backdate_export(api, export_id: int, **columns: timedelta) -> None:
    """Move the export's clock columns into the past: the time the sweeper waits has passed."""
    from app.exports.models import Export
    from app.platform.extensions import db

    with api.app_context():
        export = db.session.get(Export, export_id)
        for column, age in columns.items():
            setattr(export, column, getattr(export, column) - age)
        db.session.commit()


def _csv_files(storage: Path) -> list[Path]:
    return sorted(path for path in storage.rglob("*") if path.is_file())


def test_worker_killed_during_export_resumes_within_a_minute_once_with_one_mail(tmp_path, smtp):
    """SIGKILL of the whole worker mid-export, with real beat running: the export's heartbeat
    stops, the sweeper (every 20 s) hands it to the other worker, and it is done within a minute
    of the kill: one file, one e-mail; new export requests are not refused for 20 minutes."""
    from tests.factories import PASSWORD

    require("redis")
    with export_stack(tmp_path, smtp) as (api, _broker, worker_env, storage):
        username, email = _owner_with_bookings(api, EXPORT_ROWS)
        client = api.test_client()
        token = client.post(f"{API}/auth/login", json={"login": username, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
        worker_log = tmp_path / "worker.log"
        first = start_celery_worker(worker_env, worker_log, f"doomed-{uuid.uuid4().hex[:6]}")
        second = beat = None
        try:
            created = client.post(
                f"{API}/exports", json={"kind": "bookings", "email": True}, headers=headers
            )
            assert created.status_code == 202, created.get_json()
            export_id = created.get_json()["id"]
            wait_until(
                lambda: _export(client, headers, export_id)["status"] != "pending",
                30,
                interval=0.02,
                message=lambda: f"the export never started:\n{worker_log.read_text()}",
            )
            os.killpg(first.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            first.wait(10)
            killed = _export(client, headers, export_id)
            assert killed["status"] == "running", ("killed too late to prove anything", killed)
            assert _csv_files(storage) == []

            # Another worker is up, and beat runs the schedule as it would in production.
            second = start_celery_worker(worker_env, worker_log, f"heir-{uuid.uuid4().hex[:6]}")
            beat = start_celery_beat(worker_env, tmp_path / "beat.log", tmp_path / "beat")
            wait_until(
                lambda: _export(client, headers, export_id)["status"] in ("done", "failed"),
                90,
                interval=0.25,
                message=lambda: f"the export did not finish:\n{worker_log.read_text()[-3000:]}",
            )
            resumed_after = time.monotonic() - killed_at
            done = _export(client, headers, export_id)
            assert done["status"] == "done", done
            assert done["row_count"] == EXPORT_ROWS
            assert resumed_after < 60, f"the export took {resumed_after:.0f}s to resume"
            again = client.post(f"{API}/exports", json={"kind": "bookings"}, headers=headers)
            assert again.status_code == 202, again.get_json()

            # A late copy of the original message (Redis redelivers unacked ones) does nothing.
            from app.exports.tasks import run_export

            with api.app_context():
                run_export.delay(export_id)
            wait_until(
                lambda: worker_log.read_text().count(f"export {export_id} is not pending") >= 1,
                30,
                message=lambda: (
                    f"the duplicate was not delivered:\n{worker_log.read_text()[-3000:]}"
                ),
            )
            messages = smtp.wait_for(1, timeout=30)
            time.sleep(1.0)  # a second e-mail would be on its way by now
        finally:
            stop_group(first, signal.SIGKILL)
            for process in (beat, second):
                if process is not None:
                    stop_group(process)

        files = [path for path in _csv_files(storage) if path.name == f"{export_id}.csv"]
        assert len(files) == 1, _csv_files(storage)
        with files[0].open() as handle:
            assert sum(1 for _ in handle) == EXPORT_ROWS + 1
        assert len(smtp.messages) == 1, [m["Subject"] for m in smtp.messages]
        assert messages[0]["To"] == email
        print(
            f"export killed while running; done by another worker {resumed_after:.1f}s after the "
            f"kill: {done['row_count']} rows, {len(files)} file, {len(smtp.messages)} e-mail"
        )


def test_broker_down_during_export_request_completes_when_it_returns(tmp_path, smtp):
    """POST /exports with Redis down: 202; once the broker is back the sweeper sends it."""
    from app.exports.jobs import REQUEUE_AFTER
    from tests.factories import PASSWORD

    require("redis")
    with export_stack(tmp_path, smtp) as (api, broker, worker_env, storage):
        username, email = _owner_with_bookings(api, 25)
        client = api.test_client()
        token = client.post(f"{API}/auth/login", json={"login": username, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.get_json()['access_token']}"}

        broker.stop()
        started = time.monotonic()
        created = client.post(
            f"{API}/exports", json={"kind": "bookings", "email": True}, headers=headers
        )
        took = time.monotonic() - started
        assert created.status_code == 202, created.get_json()
        assert took < 15, f"POST /exports hung {took:.1f}s on a dead broker"
        export_id = created.get_json()["id"]
        assert _export(client, headers, export_id)["status"] == "pending"

        broker.start()
        worker_log = tmp_path / "worker.log"
        worker = start_celery_worker(worker_env, worker_log, f"back-{uuid.uuid4().hex[:6]}")
        try:
            # The task never reached the broker: nothing runs until the sweeper sends it again.
            time.sleep(1.0)
            assert _export(client, headers, export_id)["status"] == "pending"
            _backdate_export(api, export_id, queued_at=REQUEUE_AFTER + timedelta(minutes=1))
            assert _run_job(api, "sweep-exports") == {"requeued": 1, "failed": 0}
            wait_until(
                lambda: _export(client, headers, export_id)["status"] in ("done", "failed"),
                60,
                interval=0.3,
                message=lambda: f"the export did not finish:\n{worker_log.read_text()[-3000:]}",
            )
            done = _export(client, headers, export_id)
            messages = smtp.wait_for(1, timeout=30)
        finally:
            stop_group(worker)

    assert done["status"] == "done" and done["row_count"] == 25, done
    assert len(_csv_files(storage)) == 1
    assert [m["To"] for m in messages] == [email]
    print(f"broker down at POST /exports: 202 in {took:.2f}s, done after the broker returned")
